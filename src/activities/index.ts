import type { Client } from '@temporalio/client';
import OpenAI from 'openai';
import type { Config } from '../config';
import { RunPages } from '../temporal/run-pages';
import type { LiveRelay } from '../relay/live-relay';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import { tokenCounterFor } from './context';
import { ConversationCache } from './conversation/conversation-cache';
import { createLlmStep } from './llm-step';
import { ModelStream } from './model-stream';
import { createToolActivities } from './run-tool';
import type { ToolRegistry } from './tools/registry';

export interface ActivityDependencies {
  relay: LiveRelay;
  model: Pick<Config['model'], 'baseURL' | 'apiKey' | 'timeoutMs'> & { contextTokens?: number; name?: string };
  tools: ToolRegistry;
  /** Model steps read their run's conversation through it (a client on the worker's connection). */
  client?: Client;
  toolResultMaxBytes?: number;
  heartbeatIntervalMs?: number;
}

export function createModelClient(model: ActivityDependencies['model']): OpenAI {
  return new OpenAI({
    baseURL: model.baseURL,
    // Local servers (Ollama, vLLM, the demo model) take any key; the client insists on one.
    apiKey: model.apiKey ?? 'unused',
    maxRetries: 0,
    timeout: model.timeoutMs,
  });
}

/** The streamed request, to the client's endpoint with its key and timeout (as it resolved them). */
export function createModelStream(openai: OpenAI): ModelStream {
  return new ModelStream({ baseURL: openai.baseURL, apiKey: openai.apiKey ?? 'unused', timeoutMs: openai.timeout });
}

export function createActivities(dependencies: ActivityDependencies) {
  const { tools } = dependencies;
  const openai = createModelClient(dependencies.model);
  const modelStream = createModelStream(openai);
  const shared = { relay: dependencies.relay, tools, heartbeatIntervalMs: dependencies.heartbeatIntervalMs };
  // The default model's tokenizer loads now (about half a second), not in its first step.
  tokenCounterFor(dependencies.model.name ?? '').count('');
  const conversations = dependencies.client ? new ConversationCache(new RunPages(dependencies.client)) : undefined;
  return {
    llmStep: createLlmStep({ ...shared, modelStream, openai, conversations, contextTokens: dependencies.model.contextTokens, secrets: [dependencies.model.apiKey] }),
    ...createToolActivities({ ...shared, toolResultMaxBytes: dependencies.toolResultMaxBytes }),
  };
}

export type LlmStepActivity = ReturnType<typeof createLlmStep>;
export type ToolActivity = (input: ToolActivityInput) => Promise<ToolActivityResult>;
