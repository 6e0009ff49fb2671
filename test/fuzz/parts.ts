import fc from 'fast-check';

// The pieces requests are made of. Real values (ids of live runs and sessions, keys, stream
// tokens, event ids) are references into pools filled when the stack starts, so one seed replays
// the same requests although the ids themselves differ from stack to stack.

export type PoolName = 'run' | 'session' | 'apiKey' | 'streamToken' | 'eventId' | 'callId';

/** A piece of a path, header or query value: literal text, the nth value of a pool, or long text. */
export type Part = string | { pool: PoolName; index: number } | { prefix: string; repeat: string; times: number };

export const fromPool = (pool: PoolName) => fc.record({ pool: fc.constant(pool), index: fc.nat(15) });

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
