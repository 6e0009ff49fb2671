import { ModelRefError, parseModelRef, type ProviderName } from '../../shared/model-ref';
import { AnthropicProvider } from './anthropic';
import { rejectedRequest } from './failures';
import { OpenAiCompatibleProvider } from './openai-compatible';
import type { ModelProvider } from './provider';

// Which provider serves a model reference (src/shared/model-ref.ts), one instance per endpoint
// (each keeps its connections alive). A provider's key goes only to its own endpoint: an entry of
// MODEL_FALLBACKS that names another address (`model@baseURL`) is sent none, so a list of models
// can never carry a key somewhere it was not meant to go.

export interface ProviderSettings {
  timeoutMs: number;
  /** MODEL_PROVIDER: where a reference without a provider prefix goes (default openai). */
  defaultProvider?: ProviderName;
  /** OPENAI_BASE_URL (unset: the client's default) and OPENAI_API_KEY. */
  openai: { baseURL?: string; apiKey?: string };
  /** ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY and ANTHROPIC_MAX_TOKENS; unset: not configured. */
  anthropic?: { baseURL?: string; apiKey?: string; maxTokens?: number };
  /** The references with an endpoint of their own that this worker may call (MODEL, MODEL_FALLBACKS). */
  endpoints?: string[];
}

export const anthropicDefaultBaseURL = 'https://api.anthropic.com';
const openAiDefaultBaseURL = 'https://api.openai.com/v1';
export const defaultAnthropicMaxTokens = 8192;

const originOf = (url: string) => new URL(url).origin;

export class ModelProviders {
  private readonly providers = new Map<string, ModelProvider>();

  constructor(private readonly settings: ProviderSettings) {}

  /** Every key this worker holds: scrubbed from every failure. */
  get secrets(): Array<string | undefined> {
    return [this.settings.openai.apiKey, this.settings.anthropic?.apiKey];
  }

  /** The provider and the model's own name; a reference this worker cannot serve is a rejected request. */
  resolve(reference: string): { provider: ModelProvider; model: string; system: 'openai' | 'anthropic' } {
    let ref;
    try {
      ref = parseModelRef(reference);
    } catch (error) {
      if (error instanceof ModelRefError) throw rejectedRequest(error.message);
      throw error;
    }
    if (ref.baseURL && !this.settings.endpoints?.includes(reference.trim())) {
      throw rejectedRequest(`the endpoint of "${ref.model}" is not one this worker is configured with (MODEL or MODEL_FALLBACKS)`);
    }
    const name = ref.provider ?? this.settings.defaultProvider ?? 'openai';
    const key = `${name} ${ref.baseURL ?? ''}`;
    let provider = this.providers.get(key);
    if (!provider) {
      provider = name === 'anthropic' ? this.anthropic(ref.baseURL) : this.openai(ref.baseURL);
      this.providers.set(key, provider);
    }
    return { provider, model: ref.model, system: name === 'anthropic' ? 'anthropic' : 'openai' };
  }

  private anthropic(baseURL: string | undefined): ModelProvider {
    const own = this.settings.anthropic;
    if (!baseURL && !own?.apiKey && !own?.baseURL) {
      throw rejectedRequest('Anthropic models are not configured on this worker: set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL)');
    }
    const ownURL = own?.baseURL ?? anthropicDefaultBaseURL;
    const apiKey = !baseURL || originOf(baseURL) === originOf(ownURL) ? own?.apiKey : undefined;
    return new AnthropicProvider({ baseURL: baseURL ?? ownURL, apiKey, timeoutMs: this.settings.timeoutMs, maxTokens: own?.maxTokens ?? defaultAnthropicMaxTokens });
  }

  private openai(baseURL: string | undefined): ModelProvider {
    const own = this.settings.openai;
    const apiKey = !baseURL || originOf(baseURL) === originOf(own.baseURL ?? openAiDefaultBaseURL) ? own.apiKey : undefined;
    return new OpenAiCompatibleProvider({ baseURL: baseURL ?? own.baseURL, apiKey, timeoutMs: this.settings.timeoutMs });
  }
}
