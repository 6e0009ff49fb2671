import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFuzzTarget, type RunningTarget } from './fuzz/fuzz-target';
import { fuzz } from './fuzz/property';
import { send } from './fuzz/send';

// A seeded, bounded pass of the property-based fuzzer over every route (test/fuzz/); `npm run fuzz`
// runs it longer with a random seed. First, the 500 it found: ids of the other kind of workflow,
// and that the list cursors it sends are what it means them to be (real, or altered).

let target: RunningTarget;

before(async () => {
  target = await startFuzzTarget();
});

after(async () => {
  await target?.close();
});

const json = { 'content-type': 'application/json', authorization: 'Bearer fuzz-key-0123456789abcdef' };

describe('the API under fuzzed requests', () => {
  test('when a session id is used as a run id, or a run id as a session id, then every route answers 404 run_not_found or session_not_found', async () => {
    const [completed, waiting] = target.pools.run;
    const [session] = target.pools.session;
    const calls = [
      ...[`/v1/runs/${session}`, `/v1/runs/${session}/events`].map((path) => ({ method: 'GET', path, code: 'run_not_found' })),
      ...['cancel', 'stream-tokens', 'approvals/call_0'].map((action) => ({ method: 'POST', path: `/v1/runs/${session}/${action}`, body: '{"approve":true}', code: 'run_not_found' })),
      ...[completed, waiting].flatMap((run) => [
        { method: 'GET', path: `/v1/sessions/${run}`, code: 'session_not_found' },
        { method: 'POST', path: `/v1/sessions/${run}/messages`, body: '{"input":"hello"}', code: 'session_not_found' },
      ]),
    ];
    for (const { code, ...call } of calls) {
      for (const url of Object.values(target.urls)) {
        const answer = await send(url, { ...call, headers: json });
        assert.equal(answer.status, 404, `${call.method} ${call.path}: ${answer.body}`);
        assert.equal(JSON.parse(answer.body).error.code, code, `${call.method} ${call.path}`);
      }
    }
    assert.deepEqual(target.problems, []);
  });

  test('when a real cursor of GET /v1/runs is sent, then the next page comes; when it is altered, or another tenant sends it, then 400 invalid_cursor', async () => {
    const [real, ...others] = target.pools.cursor;
    const altered = others.slice(2);
    const page = await send(target.urls.keyed, { method: 'GET', path: `/v1/runs?limit=1&cursor=${real}`, headers: json });
    assert.equal(page.status, 200, page.body);
    for (const [cursor, headers] of [...altered.map((cursor) => [cursor, json] as const), [real!, { authorization: 'Bearer other-key-0123456789abcdef' }] as const]) {
      const answer = await send(target.urls.keyed, { method: 'GET', path: `/v1/runs?limit=1&cursor=${cursor}`, headers });
      assert.equal(answer.status, 400, `${cursor}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).error.code, /^invalid_(cursor|request)$/, cursor);
    }
  });

  test('when any method, path, id, header, query or body is sent, then the answer is below 500, errors are {error: {code, message}} (on /mcp, that or JSON-RPC), and the server stays up', async () => {
    await fuzz(target, { numRuns: 250, seed: 20_250_610, timeLimitMs: 60_000 });
  });
});
