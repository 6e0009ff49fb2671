import { parseModelRef } from './model-ref';
import type { Usage } from './run-types';

// What tokens cost: a price table per model (USD per million input and output tokens), and the
// cost of a usage at a model's prices. The API computes costs from usage and the model that
// answered, at read time: prices are never in a workflow, so changing them changes no history.
// A model without a price has no cost (absent, not 0). Plain data: the client can share it.

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

export interface Cost {
  currency: 'USD';
  /** Prompt tokens at the input price. */
  input: number;
  /** Completion tokens at the output price. */
  output: number;
  total: number;
}

/** Model names (lower case) to prices. */
export type PriceTable = ReadonlyMap<string, ModelPrice>;

/** A dated snapshot or an alias of a priced model: gpt-4o-2024-08-06, claude-sonnet-4-20250514, claude-3-5-haiku-latest. */
const snapshotSuffix = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/**
 * A model reference's price: the reference as written, else the model's own name (no provider
 * prefix, no endpoint), else that name without a snapshot date. No other prefix matching: a
 * `gpt-4o-audio-preview` is not priced as `gpt-4o`.
 */
export function priceOf(table: PriceTable, reference: string): ModelPrice | undefined {
  if (table.size === 0) return undefined;
  const whole = reference.trim().toLowerCase();
  const exact = table.get(whole);
  if (exact) return exact;
  let name: string;
  try {
    name = parseModelRef(reference).model.trim().toLowerCase();
  } catch {
    return undefined;
  }
  return table.get(name) ?? (snapshotSuffix.test(name) ? table.get(name.replace(snapshotSuffix, '')) : undefined);
}

/** Rounded to a millionth of a cent: sums of floats should not print as 0.30000000000000004. */
const round = (dollars: number) => Math.round(dollars * 1e8) / 1e8;

export function costOf(price: ModelPrice, usage: Pick<Usage, 'promptTokens' | 'completionTokens'>): Cost {
  const input = (usage.promptTokens * price.input) / 1e6;
  const output = (usage.completionTokens * price.output) / 1e6;
  return { currency: 'USD', input: round(input), output: round(output), total: round(input + output) };
}

/** The cost of a usage at a model's prices; undefined when the model has none. */
export function costFor(table: PriceTable, model: string, usage: Usage | undefined): Cost | undefined {
  if (!usage) return undefined;
  const price = priceOf(table, model);
  return price ? costOf(price, usage) : undefined;
}

/** Costs added up; undefined if any is (a part without a price makes the whole unknown). */
export function addCosts(costs: Array<Cost | undefined>): Cost | undefined {
  let input = 0;
  let output = 0;
  for (const cost of costs) {
    if (!cost) return undefined;
    input += cost.input;
    output += cost.output;
  }
  return { currency: 'USD', input: round(input), output: round(output), total: round(input + output) };
}

export class PriceTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PriceTableError';
  }
}

/** The most a price may be (USD per million tokens): a typo of a few orders of magnitude is refused. */
const maxPrice = 100_000;

/**
 * A price table from JSON: `{"model": {"input": 2.5, "output": 10}, "other": null}` over the
 * defaults (null takes a default out). Errors name the model and the field, never more of the text.
 */
export function parsePriceTable(json: string, defaults: PriceTable = new Map()): Map<string, ModelPrice> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new PriceTableError(`not JSON (${(error as Error).message.slice(0, 200)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PriceTableError('must be a JSON object of model names to {"input": USD per million tokens, "output": USD per million tokens}');
  }
  const table = new Map(defaults);
  for (const [model, value] of Object.entries(parsed)) {
    const name = model.trim().toLowerCase();
    const quoted = JSON.stringify(model.slice(0, 100));
    if (name === '' || name.length > 300) throw new PriceTableError(`${quoted}: a model name must have 1 to 300 characters`);
    if (value === null) {
      table.delete(name);
      continue;
    }
    if (typeof value !== 'object' || Array.isArray(value)) throw new PriceTableError(`${quoted}: must be {"input": number, "output": number} or null`);
    const entry = value as Record<string, unknown>;
    const unknown = Object.keys(entry).filter((key) => key !== 'input' && key !== 'output');
    if (unknown.length > 0) throw new PriceTableError(`${quoted}: unknown field(s) ${unknown.slice(0, 5).join(', ')}; give "input" and "output" (USD per million tokens)`);
    for (const field of ['input', 'output'] as const) {
      const price = entry[field];
      if (typeof price !== 'number' || !Number.isFinite(price) || price < 0 || price > maxPrice) {
        throw new PriceTableError(`${quoted}.${field}: must be a number of USD per million tokens from 0 to ${maxPrice}`);
      }
    }
    table.set(name, { input: entry.input as number, output: entry.output as number });
  }
  return table;
}
