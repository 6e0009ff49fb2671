// Model references: the one syntax for MODEL, MODEL_FALLBACKS and a run's `model`.
//
//   [provider:]model[@baseURL]
//
// `provider` is `openai` (any OpenAI-compatible endpoint) or `anthropic`; without it the model
// goes to MODEL_PROVIDER. Only these names count as a prefix, so Ollama's `llama3.1:8b` stays a
// model name. `@baseURL` is another endpoint of that provider's kind; only the configuration may
// name one (a run's request may not send the worker to an address of its choosing), and a URL
// with credentials in it is refused, so that no key ever sits in a list of models.
// Plain data and the global URL only: the configuration, the API and the activities share it.

export const providerNames = ['openai', 'anthropic'] as const;
export type ProviderName = (typeof providerNames)[number];

export interface ModelRef {
  /** Unset: the deployment's default provider (MODEL_PROVIDER). */
  provider?: ProviderName;
  model: string;
  /** Another endpoint than the provider's configured one. */
  baseURL?: string;
}

export class ModelRefError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelRefError';
  }
}

const syntax = '[openai:|anthropic:]model[@baseURL]';

/** Parses a reference; its errors quote the model part, never a URL (it could hold a secret). */
export function parseModelRef(text: string): ModelRef {
  const trimmed = text.trim();
  const at = trimmed.search(/@https?:\/\//i);
  const head = at >= 0 ? trimmed.slice(0, at) : trimmed;
  const prefix = /^(openai|anthropic):/.exec(head);
  const model = prefix ? head.slice(prefix[0].length) : head;
  if (model === '') throw new ModelRefError(`"${head.slice(0, 200)}" is not a model reference (${syntax})`);
  const ref: ModelRef = { model, ...(prefix ? { provider: prefix[1] as ProviderName } : {}) };
  if (at < 0) return ref;
  const baseURL = trimmed.slice(at + 1);
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    throw new ModelRefError(`the endpoint of "${head}" is not a URL (${syntax})`);
  }
  if (url.username || url.password) {
    throw new ModelRefError(`the endpoint of "${head}" carries credentials in its URL: keys come from OPENAI_API_KEY or ANTHROPIC_API_KEY, never from a model list`);
  }
  return { ...ref, baseURL };
}

/** The provider a reference goes to. */
export const providerOf = (ref: ModelRef, defaultProvider: ProviderName): ProviderName => ref.provider ?? defaultProvider;

/** MODEL_FALLBACKS: comma-separated references, in the order they are tried. */
export function parseModelList(text: string): string[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) parseModelRef(entry);
  return entries;
}
