import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { resolveAccess } from '../src/api/auth/access';
import { textFrames } from '../src/demo-model/chunks';
import { demoReply } from '../src/demo-model/demo-script';
import type { Responder } from '../src/demo-model/server';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { assembleText, readSse } from './helpers/sse';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Listing a tenant's runs (GET /v1/runs, from Temporal's visibility store), and the SSE
// conventions clients rely on: 204 at the end of a finished run (EventSource stops reconnecting)
// and ?from=latest (the live edge, no history).

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const slowText = Array.from({ length: 120 }, (_, index) => `t${index}`).join(' ');
/** "slow …" streams slowly; "hold …" waits for the test; anything else is the demo model, fast. */
let release: (() => void) | undefined;
const held = new Promise<void>((resolve) => (release = resolve));
const responder: Responder = async (request) => {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  if (input.startsWith('slow')) return { kind: 'stream', frames: textFrames(request.model, slowText, { firstTokenDelayMs: 10, tokenDelayMs: 25 }) };
  if (input.startsWith('hold')) {
    await held;
    return { kind: 'stream', frames: textFrames(request.model, 'released', fast) };
  }
  return demoReply(request, fast);
};

const acme = 'acme-list-key-0123456789abcdef';
const globex = 'globex-list-key-0123456789abcdef';
let temporal: TestTemporal;
let stack: TestStack;

before(async () => {
  temporal = await startTemporal();
  stack = await startTestStack(temporal, responder, { access: resolveAccess({ mode: 'auto', keys: `acme:${acme},globex:${globex}`, host: '127.0.0.1' }) });
});

after(async () => {
  release?.();
  await stack?.close();
  await temporal?.teardown();
});

async function startRun(key: string, input: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await callApi(stack.url, 'POST', '/v1/runs', key, { input, ...extra });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return created.body.runId;
}

const list = (key: string, query = '') => callApi(stack.url, 'GET', `/v1/runs${query}`, key);

/** Visibility is updated a moment after a change: read until `ready` says so (bounded). */
async function listUntil(key: string, query: string, ready: (body: any) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await list(key, query);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    if (ready(response.body) || Date.now() > deadline) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function finish(key: string, runId: string) {
  const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(30_000) });
  assert.equal(events.at(-1)?.event, 'run.completed');
  return events;
}

describe('GET /v1/runs', () => {
  test('lists the caller’s runs only, newest first, a page at a time, and filters by status', async () => {
    const done: string[] = [];
    for (const input of ['What is 1+1?', 'What is 2+2?', 'What is 3+3?']) {
      const runId = await startRun(acme, input, { model: 'scripted' });
      await finish(acme, runId);
      done.push(runId);
    }
    const holding = await startRun(acme, `hold ${'x'.repeat(300)}`, { tools: [] });
    const other = await startRun(globex, 'What is 4+4?');
    const all = await listUntil(acme, '?limit=100', (body) => body.runs.filter((run: any) => [...done, holding].includes(run.runId)).length === 4 && body.runs.some((run: any) => run.runId === done[2] && run.status === 'completed'));
    const mine = all.runs.filter((run: any) => [...done, holding].includes(run.runId));
    assert.deepEqual(mine.map((run: any) => run.runId), [holding, ...[...done].reverse()], 'newest first');
    assert.ok(!all.runs.some((run: any) => run.runId === other), 'never another tenant’s run');
    const [latest] = mine;
    assert.equal(latest.status, 'running');
    assert.equal(latest.input, `hold ${'x'.repeat(195)}…`, 'the start of the task');
    assert.equal(typeof latest.model, 'string');
    assert.match(latest.startedAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal(latest.links.events, `/v1/runs/${holding}/events`);
    assert.equal(mine[1].model, 'scripted');
    assert.ok(mine[1].closedAt >= mine[1].startedAt);
    const globexList = await listUntil(globex, '', (body) => body.runs.some((run: any) => run.runId === other));
    assert.ok(globexList.runs.every((run: any) => run.runId !== holding));

    // Pages of two: every run once, in order, then no cursor.
    const paged: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const body = (await list(acme, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      assert.ok(body.runs.length <= 2);
      paged.push(...body.runs.map((run: any) => run.runId));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(paged, all.runs.map((run: any) => run.runId));

    const running = await listUntil(acme, '?status=running', () => true);
    assert.deepEqual(running.runs.map((run: any) => run.runId), [holding]);
    const completed = (await list(acme, '?status=completed&limit=100')).body;
    assert.ok(done.every((runId) => completed.runs.some((run: any) => run.runId === runId)));
    assert.ok(completed.runs.every((run: any) => run.status === 'completed'));
    release!();
    await finish(acme, holding);
  });

  test('bad queries get a 400 that says what is wrong; no key, a 401', async () => {
    for (const [query, pattern] of [
      ['?limit=0', /limit must be at least 1/],
      ['?limit=1000', /at most 100/],
      ['?limit=two', /limit must be a number/],
      ['?status=queued', /status must be one of/],
      ['?cursor=not%20ours', /cursor is not one this API gave/],
      ['?colour=blue', /unknown field/],
    ] as const) {
      const response = await list(acme, query);
      assert.equal(response.status, 400, query);
      assert.equal(response.body.error.code, 'invalid_request');
      assert.match(response.body.error.message, pattern);
    }
    // A cursor is signed: made up, or given for another filter or tenant, it is refused.
    const forged = await list(acme, `?cursor=${Buffer.from('{"CloseTime":"2020-01-01"}').toString('base64url')}.${'A'.repeat(43)}`);
    assert.equal(forged.status, 400);
    assert.equal(forged.body.error.code, 'invalid_cursor');
    const given = (await list(acme, '?limit=1')).body.nextCursor as string;
    assert.ok(given, 'acme has more than one run');
    assert.equal((await list(acme, `?limit=1&cursor=${given}`)).status, 200);
    for (const [key, query] of [[acme, `?limit=1&status=completed&cursor=${given}`], [globex, `?limit=1&cursor=${given}`]] as const) {
      const refused = await list(key, query);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_cursor');
    }
    assert.equal((await list('', '')).status, 401);
  });
});

describe('SSE conventions', () => {
  test('after the end of a finished run, Last-Event-ID: done gets 204, and EventSource stops reconnecting', async () => {
    const created = await callApi(stack.url, 'POST', '/v1/runs', acme, { input: 'What is 5+5?' });
    const runId = created.body.runId as string;
    const events = await finish(acme, runId);
    const end = await fetch(`${stack.url}/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${acme}`, 'last-event-id': 'done' } });
    assert.equal(end.status, 204);
    assert.equal(await end.text(), '');
    // A real EventSource on the run's link (a stream token, as in a browser): it reads the run,
    // reconnects once with Last-Event-ID done, and stops.
    const source = new EventSource(`${stack.url}${created.body.links.events}`);
    const received: string[] = [];
    for (const name of ['run.started', 'text.delta', 'run.completed']) source.addEventListener(name, (event) => received.push(`${name}@${event.lastEventId}`));
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 15_000);
      source.addEventListener('error', () => {
        if (source.readyState === EventSource.CLOSED) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    source.close();
    assert.ok(closed, 'EventSource closed for good after the 204');
    assert.equal(received.filter((name) => name.startsWith('run.completed')).length, 1, 'the run once, not again and again');
    assert.equal(received.filter((name) => name.startsWith('text.delta')).length, events.filter((event) => event.event === 'text.delta').length);
  });

  test('?from=latest starts at the live edge: no history, then exactly what comes next, and a reconnect resumes there', async () => {
    const runId = await startRun(acme, 'slow answer please', { tools: [] });
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const auth = { authorization: `Bearer ${acme}` };
    // Wait until the answer is well under way.
    await readSse(url, { headers: auth, until: (event) => event.event === 'text.delta' && event.data.delta.includes('t20') });
    const latest = await readSse(`${url}?from=latest`, { headers: auth, signal: AbortSignal.timeout(30_000) });
    const [first, ...rest] = latest.events;
    assert.equal(first!.event, 'stream.live');
    const edge = /^1\.1\.(\d+)$/.exec(first!.id);
    assert.ok(edge, `the edge is inside the answer: ${first!.id}`);
    assert.ok(!rest.some((event) => event.event === 'run.started' || event.event === 'step.started'), 'no history');
    assert.equal(rest.at(-1)?.event, 'run.completed');
    const text = [...assembleText(rest).values()].join('');
    assert.ok(Number(edge[1]) > 0);
    assert.equal(text, slowText.slice(Number(edge[1])), 'exactly the text after the edge');
    // The edge's id resumes like any other; and at the end, from=latest has nothing to wait for.
    const resumed = await readSse(url, { headers: { ...auth, 'last-event-id': first!.id }, signal: AbortSignal.timeout(30_000) });
    assert.equal([...assembleText(resumed.events).values()].join(''), slowText.slice(Number(edge[1])));
    const afterEnd = await fetch(`${url}?from=latest`, { headers: auth });
    assert.equal(afterEnd.status, 204);
    const bad = await fetch(`${url}?from=yesterday`, { headers: auth });
    assert.equal(bad.status, 400);
  });
});
