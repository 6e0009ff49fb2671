import fc from 'fast-check';
import { cursor, encoded, fromPool, junkSegment, junkText, type Part } from './parts';

// Query strings and headers: the ones the API reads (lastEventId, fromStep, token, and GET
// /v1/runs's status, limit and cursor; Content-Type, Authorization, Last-Event-ID, and /mcp's
// Accept and Mcp-Protocol-Version) with real values, near misses and junk, and some it does not.

const headerCharacter = fc.constantFrom(...' aZ09-_.,;:=/"\'\\()<>@[]{}?*+%&~!#$^`|\t'.split(''), 'é', '\u00ff');

const number = fc.constantFrom('0', '1', '2', '-1', '1.5', '1e309', 'NaN', 'Infinity', '0x10', ' 1', '999999999999', '1000001', '');
const queryValue: fc.Arbitrary<readonly Part[]> = fc.oneof(
  fromPool('eventId').map((part) => [part]),
  fromPool('streamToken').map((part) => [part]),
  number.map((value) => [encodeURIComponent(value)]),
  junkText.map((value) => [encoded(value)]),
  junkSegment.map((value) => [value]),
  fc.constant([{ prefix: '', repeat: 'a', times: 1500 }]),
);
const queryKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('lastEventId', 'fromStep', 'token') }, fc.constantFrom('x', '__proto__', 'fromStep[]', 'a[b]', ''));
export const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 3 });

type Query = Array<[string, readonly Part[]]>;
/** GET /v1/runs: a page of a status (or of all), real and altered cursors, limits in and out of range, a key twice. */
export const listQuery: fc.Arbitrary<Query> = fc
  .record(
    {
      status: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('running', 'completed', 'failed', 'cancelled') }, fc.constantFrom('queued', 'RUNNING', '')).map((value) => [value]),
      limit: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 100 }).map(String) }, number).map((value) => [encodeURIComponent(value)]),
      cursor: cursor.map((part) => (typeof part === 'string' ? [encoded(part)] : [part])),
    },
    { requiredKeys: [] },
  )
  .chain((pairs) => fc.oneof({ weight: 9, arbitrary: fc.constant([]) }, fc.constantFrom('status', 'limit', 'cursor').map((name) => [[name, ['1']]])).map((twice): Query => [...Object.entries(pairs), ...twice] as Query));

const headerText = fc.string({ unit: headerCharacter, maxLength: 40 });
/** The header `name` with a value, or none: present `weight` times in 10. */
const header = (name: string, value: fc.Arbitrary<readonly Part[]>, weight: number) =>
  fc.oneof({ weight, arbitrary: value.map((chosen) => [name, chosen] as [string, readonly Part[]]) }, { weight: 10 - weight, arbitrary: fc.constant(null) });
const literal = (values: string[]) => fc.constantFrom(...values).map((value) => [value]);

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  fc.constantFrom('application/json; charset=latin1', 'application/json; charset=bogus', 'application/json; charset="utf-16"', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/*', 'application/json+x', ';;;', 'text/event-stream'),
  headerText,
);
const authorization: fc.Arbitrary<readonly Part[]> = fc.oneof(
  { weight: 6, arbitrary: fromPool('apiKey').map((key) => ['Bearer ', key]) },
  fromPool('streamToken').map((token) => ['Bearer ', token]),
  fc.constantFrom(['Bearer'], ['Bearer '], ['Basic Zm9vOmJhcg=='], ['bearer  x  y'], [{ prefix: 'Bearer ', repeat: 'k', times: 3000 }]),
  headerText.map((text) => ['Bearer ' + text]),
  headerText.map((text) => [text]),
);
const lastEventId: fc.Arbitrary<readonly Part[]> = fc.oneof(
  { weight: 3, arbitrary: fromPool('eventId').map((part) => [part]) },
  fc.constantFrom(['done'], ['0'], ['1.0'], ['1.done'], ['-1'], ['1.1.1.1'], ['1.t.d-x'], ['9999999.0'], ['']),
  headerText.map((text) => [text]),
  fc.constant([{ prefix: '', repeat: '9', times: 3000 }]),
);

/** What MCP clients send to /mcp: JSON with a key, accepting JSON and SSE (the transport refuses a POST that does not accept both). */
export const mcpHeaders: fc.Arbitrary<Array<[string, readonly Part[]]>> = fc
  .record(
    {
      accept: fc.oneof({ weight: 6, arbitrary: literal(['application/json, text/event-stream']) }, literal(['text/event-stream', 'application/json', '*/*', 'text/event-stream, application/json;q=0.5'])),
      'content-type': literal(['application/json']),
      authorization: fromPool('apiKey').map((key) => ['Bearer ', key]),
      'mcp-protocol-version': fc.oneof({ weight: 4, arbitrary: literal(['2025-06-18', '2025-03-26', '2024-11-05']) }, literal(['1999-01-01', 'x'])),
    },
    { requiredKeys: ['accept', 'content-type', 'authorization'] },
  )
  .map((own) => Object.entries(own));

export const headers: fc.Arbitrary<Array<[string, readonly Part[]]>> = fc
  .tuple(
    header('content-type', contentType.map((value) => [value]), 8),
    header('authorization', authorization, 8),
    header('last-event-id', lastEventId, 3),
    header('accept', literal(['text/event-stream', 'application/json', '*/*', 'text/html', '']), 3),
    header('origin', literal(['http://evil.example', 'null', 'http://localhost:3000']), 1),
    header('host', literal(['localhost', 'evil.example', '[::1]:1', '127.0.0.1:9', 'localhost.evil.example']), 1),
    header('content-encoding', literal(['gzip', 'deflate', 'br', 'identity', 'bogus']), 1),
    header('x-fuzz', headerText.map((value) => [value]), 1),
  )
  .map((pairs) => pairs.filter((pair) => pair !== null));
