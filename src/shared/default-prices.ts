import type { ModelPrice } from './prices';

// List prices (USD per million tokens, standard tier: no batch, cache or long-context rates) of
// common OpenAI and Anthropic models, as their pricing pages gave them in October 2025. They go
// stale: set MODEL_PRICES to your own (it goes over these; `"model": null` takes one out), or
// MODEL_PRICES_DEFAULTS=false to start from none. Dated snapshots (gpt-4o-2024-08-06,
// claude-sonnet-4-20250514) and `-latest` aliases get their model's price.

export const defaultPricesDate = '2025-10';

export const defaultPrices: ReadonlyArray<readonly [string, ModelPrice]> = [
  ['gpt-5', { input: 1.25, output: 10 }],
  ['gpt-5-mini', { input: 0.25, output: 2 }],
  ['gpt-5-nano', { input: 0.05, output: 0.4 }],
  ['gpt-4.1', { input: 2, output: 8 }],
  ['gpt-4.1-mini', { input: 0.4, output: 1.6 }],
  ['gpt-4.1-nano', { input: 0.1, output: 0.4 }],
  ['gpt-4o', { input: 2.5, output: 10 }],
  ['gpt-4o-mini', { input: 0.15, output: 0.6 }],
  ['o3', { input: 2, output: 8 }],
  ['o3-mini', { input: 1.1, output: 4.4 }],
  ['o4-mini', { input: 1.1, output: 4.4 }],
  ['gpt-4-turbo', { input: 10, output: 30 }],
  ['gpt-3.5-turbo', { input: 0.5, output: 1.5 }],
  ['claude-opus-4-1', { input: 15, output: 75 }],
  ['claude-opus-4', { input: 15, output: 75 }],
  ['claude-opus-4-0', { input: 15, output: 75 }],
  ['claude-sonnet-4-5', { input: 3, output: 15 }],
  ['claude-sonnet-4', { input: 3, output: 15 }],
  ['claude-sonnet-4-0', { input: 3, output: 15 }],
  ['claude-3-7-sonnet', { input: 3, output: 15 }],
  ['claude-3-5-sonnet', { input: 3, output: 15 }],
  ['claude-haiku-4-5', { input: 1, output: 5 }],
  ['claude-3-5-haiku', { input: 0.8, output: 4 }],
  ['claude-3-haiku', { input: 0.25, output: 1.25 }],
];
