import fc from 'fast-check';
import { bodies, validBodies } from './bodies';
import { headers, listQuery, mcpHeaders, query } from './headers';
import { mcpBody } from './mcp-bodies';
import { chatIds, fromPool, junkSegment, long, type Part } from './parts';

// What the fuzzer sends: every route shape of the API, with the method each answers or another,
// ids of real runs and sessions (either kind under either route), unknown ids and junk, and the
// query strings, headers and bodies of headers.ts, bodies.ts and mcp-bodies.ts.

export const methods = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'] as const;
type Method = (typeof methods)[number];

export interface FuzzRequest {
  /** Which API: open (no keys, loopback Host only) or keyed (every /v1 route needs a key). */
  target: 'open' | 'keyed';
  method: Method;
  path: readonly Part[];
  query: Array<[string, readonly Part[]]>;
  headers: Array<[string, readonly Part[]]>;
  /** JSON as parts when it names pool values (mcp-bodies.ts). */
  body?: string | Uint8Array | readonly Part[];
}

/** Run and session ids: real ones (either kind under either route), well-formed unknown ones, junk. */
export const id: fc.Arbitrary<Part> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fromPool('run'), fromPool('session')) },
  { weight: 2, arbitrary: fc.uuid().chain((uuid) => fc.constantFrom(`run_${uuid}`, `ses_${uuid}`, uuid)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/) },
  { weight: 2, arbitrary: junkSegment },
  { weight: 1, arbitrary: fc.oneof(long('run_'), long('ses_'), long('%41')) },
);

const callId: fc.Arbitrary<Part> = fc.oneof({ weight: 3, arbitrary: fromPool('callId') }, junkSegment, long('call_'));
const suffix = fc.oneof({ weight: 8, arbitrary: fc.constant('') }, fc.constantFrom('/', '//', '/x', '/..', '?', '#x', ';a=b'));

type Body = FuzzRequest['body'];
type Route = {
  method: Method;
  path: readonly Part[];
  body: Body;
  /** The route's own query string, in place of the generic one. */
  query?: FuzzRequest['query'];
  /** Headers the route's clients send, in place of generic ones of the same name. */
  headers?: FuzzRequest['headers'];
};

/** A route with the method it answers and, often, the body it takes (else any body, or none). */
const route = (method: Method, path: fc.Arbitrary<readonly Part[]>, valid: fc.Arbitrary<Body> = fc.constant(undefined)): fc.Arbitrary<Route> =>
  fc
    .tuple(path, fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: bodies }, { weight: 1, arbitrary: fc.constant(undefined) }))
    .map(([parts, body]) => ({ method, path: parts, body }));

/** A route that is sent, three times in four, with the query or headers of its clients. */
const withOwn = (chosen: fc.Arbitrary<Route>, own: fc.Arbitrary<Pick<Route, 'query' | 'headers'>>) =>
  fc.tuple(chosen, fc.oneof({ weight: 3, arbitrary: own }, { weight: 1, arbitrary: fc.constant({}) })).map(([value, extra]) => ({ ...value, ...extra }));

const chatId: fc.Arbitrary<Part> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...chatIds) }, junkSegment, long('chat'));

/** Each route with the method it answers; `methodAndPath` puts another method on it now and then. */
const routes: fc.Arbitrary<Route> = fc.oneof(
  route('POST', fc.constant(['/v1/runs']), validBodies.run),
  withOwn(route('GET', fc.constant(['/v1/runs'])), listQuery.map((own) => ({ query: own }))),
  route('GET', id.map((run) => ['/v1/runs/', run])),
  route('GET', id.map((run) => ['/v1/runs/', run, '/events'])),
  withOwn(
    route('GET', id.map((run) => ['/v1/runs/', run, '/temporal-links'])),
    fc.constantFrom('1', '2', '0', '-1', '1e9', 'x', '').map((fromStep) => ({ query: [['fromStep', [fromStep]]] as FuzzRequest['query'] })),
  ),
  route('POST', id.map((run) => ['/v1/runs/', run, '/cancel'])),
  route('POST', fc.tuple(id, callId).map(([run, call]) => ['/v1/runs/', run, '/approvals/', call]), validBodies.approval),
  route('POST', id.map((run) => ['/v1/runs/', run, '/stream-tokens'])),
  route('POST', fc.constant(['/v1/sessions']), validBodies.session),
  route('GET', id.map((session) => ['/v1/sessions/', session])),
  route('POST', id.map((session) => ['/v1/sessions/', session, '/messages']), validBodies.message),
  route('GET', fc.constant(['/v1/tools'])),
  route('GET', fc.constantFrom(['/healthz'], ['/metrics'])),
  route('POST', fc.constantFrom(['/codec/decode'], ['/codec/encode']), validBodies.codec),
  route('POST', fc.constant(['/v1/chat']), validBodies.chat),
  route('GET', chatId.map((chat) => ['/v1/chat/', chat, '/stream'])),
  { weight: 3, arbitrary: withOwn(route('POST', fc.constant(['/mcp']), mcpBody), mcpHeaders.map((own) => ({ headers: own }))) },
  route('GET', fc.constantFrom(['/mcp'], ['/openapi.json'], ['/docs'], ['/docs/rapidoc-min.js'], ['/'], ['/sessions'], ['/favicon.svg'])),
  // The console's pages and assets (a missing asset is the API's 404).
  route('GET', fc.oneof(id.map((run) => ['/runs/', run]), id.map((session) => ['/sessions/', session]), junkSegment.map((file) => ['/assets/', file]))),
  route('DELETE', fc.constant(['/mcp'])),
);

const unknownPath: fc.Arbitrary<readonly Part[]> = fc.oneof(
  fc.constantFrom(['/'], ['/v1'], ['/v1/'], ['/v2/runs'], ['/V1/RUNS'], ['//v1/runs'], ['/v1/runs/a/b/c/d'], ['/v1/sessions/a/b'], ['/healthz/x'], ['/v1/%'], ['*']),
  fc.array(junkSegment, { minLength: 1, maxLength: 4 }).map((segments) => ['/' + segments.join('/')]),
  id.map((value) => ['/v1/', value]),
);

const anyMethod = fc.constantFrom(...methods);

export const methodAndPath: fc.Arbitrary<Route> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(routes, suffix, fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, anyMethod)).map(([chosen, end, other]) => ({ ...chosen, method: other ?? chosen.method, path: [...chosen.path, end] })),
  },
  { weight: 1, arbitrary: fc.tuple(anyMethod, unknownPath, fc.option(bodies, { nil: undefined })).map(([method, path, body]): Route => ({ method, path, body })) },
);

/** The generic headers, those of the same name replaced by the route's own. */
const merged = (generic: FuzzRequest['headers'], own: FuzzRequest['headers'] = []) => [...generic.filter(([name]) => !own.some(([ownName]) => ownName === name)), ...own];

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    target: fc.constantFrom('open' as const, 'keyed' as const),
    route: methodAndPath,
    query,
    headers,
  })
  .map(({ route: chosen, target, query: genericQuery, headers: genericHeaders }) => ({
    target,
    method: chosen.method,
    path: chosen.path,
    body: chosen.body,
    query: chosen.query ?? genericQuery,
    headers: merged(genericHeaders, chosen.headers),
  }));
