import fc from 'fast-check';

// The pieces requests are made of. Real values (ids of live runs and sessions, keys, stream
// tokens, event ids) are references into pools filled when the stack starts, so one seed replays
// the same requests although the ids themselves differ from stack to stack.

export type PoolName = 'run' | 'session' | 'apiKey' | 'streamToken' | 'eventId' | 'callId' | 'cursor';

/** A piece of a path, header or query value: literal text, the nth value of a pool, or long text. */
export type Part = string | { pool: PoolName; index: number } | { prefix: string; repeat: string; times: number };

export const fromPool = (pool: PoolName) => fc.record({ pool: fc.constant(pool), index: fc.nat(15) });

/** Chat ids are the client's choice, the same on every stack: the fuzz target starts a turn that waits in the second. */
export const chatIds = ['fuzz-chat', 'fuzz-chat-waiting'] as const;

const isPart = (value: unknown): value is Exclude<Part, string> =>
  typeof value === 'object' && value !== null && (('pool' in value && 'index' in value) || ('prefix' in value && 'repeat' in value));

/**
 * JSON text as parts, each reference to a pool (or long text) inside `value` becoming a JSON
 * string of its value: bodies can name real ids as paths do. Pool values need no escaping
 * (ids, keys, tokens and cursors are URL-safe).
 */
export function jsonParts(value: unknown): Part[] {
  const references: Exclude<Part, string>[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => (isPart(item) ? `@@part:${references.push(item) - 1}@@` : item)) ?? '';
  return text.split(/@@part:(\d+)@@/).map((piece, index) => (index % 2 === 1 ? references[Number(piece)]! : piece));
}

/** Characters Node lets through in a request path unescaped, URL syntax included. */
const pathCharacter = fc.constantFrom(...'aZ09-_.~:@!$&\'()*+,;=%/?#[]{}|\\^`"<>'.split(''));

/** Percent-encoding of any text (a lone surrogate becomes bytes that are not UTF-8). */
export const encoded = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};

// Node's parser refuses a request whose request line and headers pass 16 KB before the app sees it
// (answered as 431 headers_too_large by src/api/client-errors.ts, tested in access-control): long
// values here stay within that, so that each request reaches the app.
export const long = (prefix: string) => fc.constantFrom(200, 201, 1000, 2000).map((length): Part => ({ prefix, repeat: 'a', times: length - prefix.length }));

export const junkText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encoded),
  fc.string({ unit: pathCharacter, maxLength: 20 }),
  fc.constantFrom('%', '%zz', '%00', '%2F', '%2e%2e', '%C0%AF', '%ED%A0%80', '..', '.', '%20', '+', 'run_%00', 'null', 'undefined', '__proto__', 'constructor'),
);

/** A segment that is always sendable in a request path. */
export const junkSegment = fc.oneof(
  fc.string({ unit: pathCharacter, minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encoded),
  fc.constantFrom('%', '%zz', '%00', '%2F', '%2e%2e', '%C0%AF', '%ED%A0%80', '..', '.', '%20', '+', 'run_%00', '__proto__', 'constructor'),
);

/** Real cursors (and altered ones) from the fuzz target's pool, well-formed ones the API never gave, junk. */
export const cursor: fc.Arbitrary<Part> = fc.oneof(
  { weight: 8, arbitrary: fromPool('cursor') },
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)).map(([token, mac]) => `${token}.${mac}`),
  junkText,
  long('A'),
);
