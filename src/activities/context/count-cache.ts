// Remembers the token counts of long texts by their content. An activity receives its messages
// freshly deserialized on every call, so the same 150 KB tool result arrives as a new string (and
// a new message object) at each step of a run: without this cache every model call would tokenize
// the whole conversation again.
//
// Texts are keyed by a 64-bit fingerprint plus their length, not by the text itself: the cache then
// holds no conversation in memory, and lookups stay fast when many texts have the same length
// (tool outputs cut at a fixed size), which string keys handle badly. Two different texts sharing
// a fingerprint is vanishingly unlikely, and would only make one count a little wrong.

export interface CountCacheOptions {
  /** Texts remembered, least recently used first out (default 100,000: a few MB). */
  maxEntries?: number;
  /** Shorter texts are counted again: tokenizing them costs about as much as fingerprinting. */
  minimumLength?: number;
}

/** Two independent 32-bit FNV-1a style hashes of the text's UTF-16 code units, and its length. */
function fingerprint(text: string): string {
  let first = 0x811c9dc5;
  let second = 0x9747b28c;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
    second ^= second >>> 15;
  }
  return `${text.length}:${first >>> 0}:${second >>> 0}`;
}

export function cachedCount(count: (text: string) => number, options: CountCacheOptions = {}): (text: string) => number {
  const maxEntries = options.maxEntries ?? 100_000;
  const minimumLength = options.minimumLength ?? 1_000;
  // A Map keeps insertion order: re-inserting on a hit makes its first key the least recently used.
  const counts = new Map<string, number>();

  return (text: string): number => {
    if (text.length < minimumLength) return count(text);
    const key = fingerprint(text);
    const known = counts.get(key);
    if (known !== undefined) {
      counts.delete(key);
      counts.set(key, known);
      return known;
    }
    const tokens = count(text);
    counts.set(key, tokens);
    if (counts.size > maxEntries) counts.delete(counts.keys().next().value!);
    return tokens;
  };
}
