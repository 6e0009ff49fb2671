import { ModelRefError, parseModelRef, providerOf, type ProviderName } from '../shared/model-ref';
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
  /** What the deployment says of its models (config.model); the worker checks what this leaves unsaid. */
  models?: {
    /** MODEL_FALLBACKS, and the attempts each gets (MODEL_FALLBACK_ATTEMPTS). */
    fallbacks: string[];
    fallbackAttempts: number;
    /** MODEL_PROVIDER. */
    defaultProvider?: ProviderName;
    /** Known in one process (npm start); unset (a split API holds no model keys): not checked here. */
    anthropicConfigured?: boolean;
  };
}

/** A model a run names: a valid reference, an endpoint only if configured, a provider that is set up. */
function checkRunModel(model: string, defaults: RunDefaults) {
  let ref;
  try {
    ref = parseModelRef(model);
  } catch (error) {
    if (error instanceof ModelRefError) throw new HttpError(400, 'invalid_request', `model: ${error.message}`);
    throw error;
  }
  const models = defaults.models;
  if (ref.baseURL && model.trim() !== defaults.defaultModel && !models?.fallbacks.includes(model.trim())) {
    throw new HttpError(400, 'model_not_allowed', 'a run may not choose an endpoint (model@baseURL); name a model, or one of MODEL and MODEL_FALLBACKS as configured');
  }
  if (models?.anthropicConfigured === false && !ref.baseURL && providerOf(ref, models.defaultProvider ?? 'openai') === 'anthropic') {
    throw new HttpError(400, 'model_not_available', `"${ref.model}" is an Anthropic model, and Anthropic is not configured here (ANTHROPIC_API_KEY)`);
  }
}

const defaultMaxSteps = 10;

/** A turn's settings from what the request chose and the defaults for the rest. */
export function turnSettings(
  defaults: RunDefaults,
  chosen: { model?: string; system?: string; tools?: string[]; maxSteps?: number; maxTokens?: number; contextTokens?: number; cache?: boolean },
): Omit<AgentTurnInput, 'input' | 'messages'> {
  const tools = chosen.tools ?? defaults.toolNames;
  const allowed = defaults.limits.allowedModels ?? [];
  if (chosen.model !== undefined && allowed.length > 0 && !allowed.includes(chosen.model)) {
    throw new HttpError(400, 'model_not_allowed', `model "${chosen.model.slice(0, 200)}" is not allowed here; allowed: ${allowed.join(', ')}`);
  }
  if (chosen.model !== undefined) checkRunModel(chosen.model, defaults);
  const model = chosen.model ?? defaults.defaultModel;
  // The deployment's fallbacks serve every run; a run on one of them falls back to the others.
  const fallbacks = (defaults.models?.fallbacks ?? []).filter((entry) => entry !== model.trim());
  const contextTokens = chosen.contextTokens ?? defaults.contextTokens;
  return {
    model,
    system: chosen.system,
    tools,
    toolPolicies: defaults.toolPolicies(tools),
    toolConcurrency: defaults.toolConcurrency,
    approvalTimeoutMs: defaults.limits.approvalTimeoutMs,
    maxSteps: chosen.maxSteps ?? Math.min(defaultMaxSteps, defaults.limits.maxSteps),
    ...(chosen.maxTokens !== undefined ? { maxTokens: chosen.maxTokens } : {}),
    ...(contextTokens !== undefined ? { contextTokens } : {}),
    ...(fallbacks.length > 0 ? { modelFallbacks: { models: fallbacks, attempts: defaults.models!.fallbackAttempts } } : {}),
    ...(chosen.cache === false ? { cache: false } : {}),
    ...(defaults.limits.history ? { historyLimits: defaults.limits.history } : {}),
  };
}

/** Accepted by both routers: run and session ids are generated, so anything else is unknown. */
export const idPattern = /^[A-Za-z0-9_.:-]{1,200}$/;
