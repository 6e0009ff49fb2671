import type { AgentTurnInput, ToolPolicy } from '../shared/run-types';
import { HttpError } from './errors';

/** What every new run gets unless its request says otherwise: shared by runs and sessions. */
export interface RunDefaults {
  defaultModel: string;
  toolNames: string[];
  toolPolicies: (names: string[]) => ToolPolicy[];
  toolConcurrency: number;
  limits: { maxSteps: number; maxInputChars: number; approvalTimeoutMs: number; history?: { events: number; bytes: number }; allowedModels?: string[]; maxStreamsPerTenant?: number; maxRunningRunsPerTenant?: number };
  /** The default model's context window (MODEL_CONTEXT_TOKENS). */
  contextTokens?: number;
}

const defaultMaxSteps = 10;

/** A turn's settings from what the request chose and the defaults for the rest. */
export function turnSettings(
  defaults: RunDefaults,
  chosen: { model?: string; system?: string; tools?: string[]; maxSteps?: number; contextTokens?: number },
): Omit<AgentTurnInput, 'input' | 'messages'> {
  const tools = chosen.tools ?? defaults.toolNames;
  const allowed = defaults.limits.allowedModels ?? [];
  if (chosen.model !== undefined && allowed.length > 0 && !allowed.includes(chosen.model)) {
    throw new HttpError(400, 'model_not_allowed', `model "${chosen.model.slice(0, 200)}" is not allowed here; allowed: ${allowed.join(', ')}`);
  }
  const contextTokens = chosen.contextTokens ?? defaults.contextTokens;
  return {
    model: chosen.model ?? defaults.defaultModel,
    system: chosen.system,
    tools,
    toolPolicies: defaults.toolPolicies(tools),
    toolConcurrency: defaults.toolConcurrency,
    approvalTimeoutMs: defaults.limits.approvalTimeoutMs,
    maxSteps: chosen.maxSteps ?? Math.min(defaultMaxSteps, defaults.limits.maxSteps),
    ...(contextTokens !== undefined ? { contextTokens } : {}),
    ...(defaults.limits.history ? { historyLimits: defaults.limits.history } : {}),
  };
}

/** Accepted by both routers: run and session ids are generated, so anything else is unknown. */
export const idPattern = /^[A-Za-z0-9_.:-]{1,200}$/;
