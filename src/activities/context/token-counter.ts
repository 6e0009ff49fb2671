import { createRequire } from 'node:module';
import { cachedCount } from './count-cache';

// How many tokens a text costs with a given model. OpenAI models get their real BPE encoding
// (gpt-tokenizer: pure JavaScript, encodings shipped in the package, so it works offline). Any
// other model (llama, mistral, the demo model…) gets a stated estimate instead: its tokenizer is
// not known here, and guessing with an OpenAI encoding would look exact without being so.

export interface TokenCounter {
  count(text: string): number;
  /** True when counts are the characters/3 estimate, not a real encoding. */
  estimate: boolean;
  /** The encoding's name ('o200k_base', 'cl100k_base'), or estimateEncoding. */
  encoding: string;
}

export const estimateEncoding = 'estimate: characters / 3';

/** Characters per token of the estimate: English prose is about 4, code about 3 (so 3 errs high); CJK text is nearer 1 and is undercounted. */
const charactersPerToken = 3;

type EncodingName = 'o200k_base' | 'cl100k_base';
type EncodingModule = typeof import('gpt-tokenizer/encoding/o200k_base');

// Checked in order: 'gpt-4o' and 'gpt-4.1' must meet their o200k pattern before the plain 'gpt-4'.
// The look-ahead stops 'o1' from matching a longer, unrelated name such as 'o1x'.
const encodingsByModel: Array<[RegExp, EncodingName]> = [
  [/^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)(?![a-z0-9])/, 'o200k_base'],
  [/^(?:gpt-4|gpt-3\.5)(?![a-z0-9])/, 'cl100k_base'],
];

/** The real encoding of an OpenAI model, or undefined; a provider prefix ('openai/gpt-4o') is ignored. */
export function encodingForModel(model: string): EncodingName | undefined {
  const name = model.trim().toLowerCase().split('/').at(-1) ?? '';
  return encodingsByModel.find(([pattern]) => pattern.test(name))?.[1];
}

// require() loads synchronously, so count() stays synchronous while only the encoding a model
// uses is ever loaded (o200k_base takes about half a second and tens of MB the first time).
const requireFromHere = createRequire(import.meta.url);

// Special tokens such as <|endoftext|> can appear in tool results (a file about tokenizers): an
// empty disallowed set counts them as plain text instead of throwing, as the API itself treats them.
const plainText = { disallowedSpecial: new Set<string>() };

const estimateCounter: TokenCounter = {
  count: (text) => Math.ceil(text.length / charactersPerToken),
  estimate: true,
  encoding: estimateEncoding,
};

function encodingCounter(encoding: EncodingName): TokenCounter {
  let library: EncodingModule | undefined;
  const countOnce = (text: string): number => {
    library ??= requireFromHere(`gpt-tokenizer/encoding/${encoding}`) as EncodingModule;
    return library.countTokens(text, plainText);
  };
  return { count: cachedCount(countOnce), estimate: false, encoding };
}

// One counter per encoding for the life of the process: callers memoize counts per counter, and
// the count cache is shared by every model using the encoding.
const counters = new Map<EncodingName, TokenCounter>();

export function tokenCounterFor(model: string): TokenCounter {
  const encoding = encodingForModel(model);
  if (!encoding) return estimateCounter;
  let counter = counters.get(encoding);
  if (!counter) counters.set(encoding, (counter = encodingCounter(encoding)));
  return counter;
}
