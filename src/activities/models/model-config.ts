import { ModelRefError, parseModelRef, providerOf, type ProviderName } from '../../shared/model-ref';

// The model settings of the environment, checked together (src/config.ts reads them): which
// provider names without a prefix go to, the default model, the fallbacks, and whether each model
// named can be reached with the keys given. Every problem names its variable, never a key.

export interface ModelEnv {
  OPENAI_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  MODEL?: string;
  MODEL_PROVIDER?: ProviderName;
  MODEL_FALLBACKS: string;
  MODEL_FALLBACK_ATTEMPTS: number;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  ANTHROPIC_MAX_TOKENS: number;
}

export interface ModelChoice {
  provider: ProviderName;
  /** Nothing configured for the default provider (OpenAI-compatible): the built-in demo model. */
  useDemo: boolean;
  name: string;
  anthropic: { baseURL?: string; apiKey?: string; maxTokens: number };
  fallbacks: string[];
  fallbackAttempts: number;
}

export const defaultAnthropicModel = 'claude-sonnet-4-5';
const maxFallbacks = 8;

export function chooseModels(env: ModelEnv): ModelChoice | { problems: string[] } {
  const problems: string[] = [];
  const openAiSet = Boolean(env.OPENAI_BASE_URL || env.OPENAI_API_KEY);
  const anthropicSet = Boolean(env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL);
  // Only Anthropic configured: its models need no prefix.
  const provider = env.MODEL_PROVIDER ?? (anthropicSet && !openAiSet ? 'anthropic' : 'openai');
  const useDemo = provider === 'openai' && !openAiSet;
  const name = env.MODEL ?? (provider === 'anthropic' ? defaultAnthropicModel : useDemo ? 'demo' : 'gpt-4o-mini');
  if (provider === 'anthropic' && !anthropicSet) {
    problems.push('MODEL_PROVIDER: anthropic needs ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL, for an endpoint that takes no key)');
  }
  const check = (variable: string, reference: string) => {
    try {
      const ref = parseModelRef(reference);
      if (providerOf(ref, provider) === 'anthropic' && !ref.baseURL && !anthropicSet) {
        problems.push(`${variable}: "${ref.model}" is an Anthropic model, but ANTHROPIC_API_KEY is not set`);
      }
    } catch (error) {
      if (!(error instanceof ModelRefError)) throw error;
      problems.push(`${variable}: ${error.message}`);
    }
  };
  check('MODEL', name);
  const fallbacks = env.MODEL_FALLBACKS.split(',').map((entry) => entry.trim()).filter(Boolean);
  const seen = new Set([name]);
  for (const entry of fallbacks) {
    check('MODEL_FALLBACKS', entry);
    if (seen.has(entry)) problems.push(`MODEL_FALLBACKS: "${entry.split('@')[0]}" is listed twice (or is MODEL itself)`);
    seen.add(entry);
  }
  if (fallbacks.length > maxFallbacks) problems.push(`MODEL_FALLBACKS: at most ${maxFallbacks} models`);
  if (problems.length > 0) return { problems };
  return {
    provider,
    useDemo,
    name,
    anthropic: { baseURL: env.ANTHROPIC_BASE_URL, apiKey: env.ANTHROPIC_API_KEY, maxTokens: env.ANTHROPIC_MAX_TOKENS },
    fallbacks,
    fallbackAttempts: env.MODEL_FALLBACK_ATTEMPTS,
  };
}
