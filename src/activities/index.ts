import OpenAI from 'openai';
import type { Config } from '../config';
import type { LiveRelay } from '../relay/live-relay';
import type { ToolActivityInput, ToolActivityResult } from '../shared/run-types';
import { createLlmStep } from './llm-step';
import { createToolActivities } from './run-tool';
import type { ToolRegistry } from './tools/registry';

export interface ActivityDependencies {
  relay: LiveRelay;
  model: Pick<Config['model'], 'baseURL' | 'apiKey' | 'timeoutMs'>;
  tools: ToolRegistry;
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

export function createActivities(dependencies: ActivityDependencies) {
  const { tools } = dependencies;
  const openai = createModelClient(dependencies.model);
  const shared = { relay: dependencies.relay, tools, heartbeatIntervalMs: dependencies.heartbeatIntervalMs };
  return {
    llmStep: createLlmStep({ ...shared, openai, secrets: [dependencies.model.apiKey] }),
    ...createToolActivities(shared),
  };
}

export type LlmStepActivity = ReturnType<typeof createLlmStep>;
export type ToolActivity = (input: ToolActivityInput) => Promise<ToolActivityResult>;
