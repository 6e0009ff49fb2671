import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { RunPages } from '../temporal/run-pages';
import type { LiveRelay } from '../relay/live-relay';
import { parseModelRef } from '../shared/model-ref';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import { tokenCounterFor } from './context';
import { ConversationCache } from './conversation/conversation-cache';
import { createLlmStep } from './llm-step';
import { ModelProviders } from './models/providers';
import { createToolActivities } from './run-tool';
import type { ToolRegistry } from './tools/registry';
import { ToolResultCache } from './tools/tool-cache';
import { ToolStats } from './tools/tool-stats';
import type { ActivityTelemetry } from '../telemetry/activity-telemetry';

const warn = (message: string, error?: unknown) => console.warn(`${message}: ${(error as Error | undefined)?.message ?? String(error)}`);

export interface ActivityDependencies {
  relay: LiveRelay;
  model: Pick<Config['model'], 'baseURL' | 'apiKey' | 'timeoutMs'> &
    Partial<Pick<Config['model'], 'provider' | 'anthropic' | 'fallbacks'>> & { contextTokens?: number; name?: string };
  tools: ToolRegistry;
  /** Model steps read their run's conversation through it (a client on the worker's connection). */
  client?: Client;
  toolResultMaxBytes?: number;
  /** The worker's task queue: where its tool analytics workflow runs (tools/tool-stats.ts). */
  taskQueue?: string;
  /** TOOL_OUTPUT_MAX_BYTES: the most output one call streams (run-tool.ts). */
  toolOutputMaxBytes?: number;
  heartbeatIntervalMs?: number;
  /** Metrics and traces of model and tool calls (src/telemetry). */
  telemetry?: ActivityTelemetry;
}

/** The model providers of this worker; the references with endpoints of their own are the configured ones only. */
export function createModelProviders(model: ActivityDependencies['model']): ModelProviders {
  return new ModelProviders({
    timeoutMs: model.timeoutMs,
    defaultProvider: model.provider,
    openai: { baseURL: model.baseURL, apiKey: model.apiKey },
    anthropic: model.anthropic,
    endpoints: [model.name ?? '', ...(model.fallbacks ?? [])].filter((reference) => reference !== '' && parseModelRef(reference).baseURL !== undefined),
  });
}

export function createActivities(dependencies: ActivityDependencies) {
  const { tools } = dependencies;
  const providers = createModelProviders(dependencies.model);
  const shared = { relay: dependencies.relay, tools, heartbeatIntervalMs: dependencies.heartbeatIntervalMs, telemetry: dependencies.telemetry };
  // The default model's tokenizer loads now (about half a second), not in its first step.
  tokenCounterFor(dependencies.model.name ? parseModelRef(dependencies.model.name).model : '').count('');
  const conversations = dependencies.client ? new ConversationCache(new RunPages(dependencies.client)) : undefined;
  return {
    llmStep: createLlmStep({ ...shared, providers, conversations, contextTokens: dependencies.model.contextTokens }),
    ...createToolActivities({
      ...shared,
      toolResultMaxBytes: dependencies.toolResultMaxBytes,
      toolOutputMaxBytes: dependencies.toolOutputMaxBytes,
      cache: dependencies.client ? new ToolResultCache(dependencies.client, warn) : undefined,
      stats: dependencies.client && dependencies.taskQueue ? new ToolStats(dependencies.client, { taskQueue: dependencies.taskQueue, log: warn }) : undefined,
    }),
  };
}

export type LlmStepActivity = ReturnType<typeof createLlmStep>;
export type ToolActivity = (input: ToolActivityInput) => Promise<ToolActivityResult>;
