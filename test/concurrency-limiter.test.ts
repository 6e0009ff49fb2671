import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { runWithPermit, waitNoticeMs } from '../src/activities/tools/concurrency-gate';
import { ToolConcurrency } from '../src/activities/tools/concurrency-limiter';
import { createHttpGetTool } from '../src/activities/tools/http-get-tool';
import { ToolOverloadedError, type ToolContext, type ToolDefinition } from '../src/activities/tools/registry';
import { retryAfterMs } from '../src/activities/tools/retry-after';
import type { ToolProgress } from '../src/shared/events';

// The per-key limiter of a worker (waiting in order, cancellable, bounded) and the gate that runs a
// tool under it, with real tools and a real HTTP server.

function context() {
  const progress: ToolProgress[] = [];
  const controller = new AbortController();
  const value: ToolContext = { progress: (update) => progress.push(update), signal: controller.signal, attempt: 1, idempotencyKey: 'run:call', limitCache: () => undefined, output: () => undefined };
  return { context: value, progress, controller };
}

describe('ToolConcurrency', () => {
  test('when more calls than the limit ask, then the rest wait and get in, in order, as permits are released', async () => {
    const limiters = new ToolConcurrency({ adaptive: false, maxPerKey: 2 });
    const order: number[] = [];
    const permits = await Promise.all([limiters.acquire('k'), limiters.acquire('k')]);
    const waiting = [3, 4, 5].map((n) => limiters.acquire('k').then((permit) => (order.push(n), permit)));
    await sleep(10);
    assert.deepEqual(limiters.state('k'), { key: 'k', adaptive: false, limit: 2, inFlight: 2, waiting: 3, successes: 0, drops: 0, cuts: 0, latency: [] });
    permits[0]!.release('success');
    permits[0]!.release('success'); // a second release is ignored
    const third = await waiting[0]!;
    assert.deepEqual(order, [3]);
    permits[1]!.release('success');
    third.release('ignore');
    await Promise.all(waiting.slice(1));
    assert.deepEqual(order, [3, 4, 5]);
    assert.equal(limiters.state('k')!.successes, 2);
  });

  test('when a waiting call is cancelled, then it stops waiting at once with the signal reason and leaves the queue', async () => {
    const limiters = new ToolConcurrency({ adaptive: false, maxPerKey: 1 });
    const held = await limiters.acquire('k');
    const controller = new AbortController();
    const waiting = limiters.acquire('k', controller.signal);
    await sleep(5);
    const reason = new Error('cancelled by the test');
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    assert.equal(limiters.state('k')!.waiting, 0);
    held.release('success');
    assert.equal(limiters.state('k')!.inFlight, 0);
  });

  test('when calls to a key are dropped, then fewer are let in at once; other keys are not affected', async () => {
    const limiters = new ToolConcurrency({ maxPerKey: 64 });
    const first = await Promise.all(Array.from({ length: 16 }, () => limiters.acquire('busy')));
    for (const permit of first) permit.release('drop');
    assert.equal(limiters.state('busy')!.limit, 11, 'one cut for one overloaded wave (16 * 0.7)');
    assert.equal(limiters.state('busy')!.drops, 16);
    const other = await limiters.acquire('calm');
    assert.equal(limiters.state('calm')!.limit, 16);
    other.release('success');
    assert.deepEqual(limiters.snapshot().map((state) => state.key), ['busy', 'calm']);
  });

  test('when many keys are used, then idle ones beyond maxKeys are forgotten, and idle ones start afresh after idleResetMs', async () => {
    const limiters = new ToolConcurrency({ maxKeys: 3, idleResetMs: 30 });
    const held = await limiters.acquire('held');
    for (const key of ['a', 'b', 'c', 'd']) (await limiters.acquire(key)).release('drop');
    assert.deepEqual(limiters.snapshot().map((state) => state.key).sort(), ['c', 'd', 'held']);
    await sleep(50);
    (await limiters.acquire('d')).release('ignore');
    assert.equal(limiters.state('d')!.drops, 0, 'forgotten after being idle');
    held.release('success');
  });

  test('when adaptive is off, then every key is capped at maxPerKey and never cut', async () => {
    const limiters = new ToolConcurrency({ adaptive: false, maxPerKey: 5 });
    for (let i = 0; i < 5; i++) (await limiters.acquire('k')).release('drop');
    assert.equal(limiters.state('k')!.limit, 5);
  });
});

const hold: ToolDefinition<{ ms: number; fail?: 'overloaded' | 'other' }> = {
  name: 'hold',
  description: 'takes ms milliseconds',
  parameters: z.object({ ms: z.number(), fail: z.enum(['overloaded', 'other']).optional() }),
  idempotent: true,
  async run({ ms, fail }) {
    await sleep(ms);
    if (fail === 'overloaded') throw new ToolOverloadedError('busy', 2000);
    if (fail === 'other') throw new Error('broken');
    return 'done';
  },
};

describe('runWithPermit', () => {
  test('when a call waits longer than a moment, then it says so as progress, with the limit', async () => {
    const limiters = new ToolConcurrency({ adaptive: false, maxPerKey: 1 });
    const first = context();
    const second = context();
    const running = runWithPermit(limiters, hold, { ms: waitNoticeMs + 150 }, first.context);
    assert.equal(await runWithPermit(limiters, hold, { ms: 1 }, second.context), 'done');
    await running;
    assert.equal(first.progress.length, 0);
    assert.equal(second.progress.length, 1);
    assert.match(second.progress[0]!.message!, /^waiting for a free slot: hold runs at most 1 at once on this worker \(1 running, 1 waiting\)$/);
    assert.deepEqual(second.progress[0]!.data, { concurrency: { key: 'hold', limit: 1, inFlight: 1, waiting: 1 } });
  });

  test('when the tool reports overload, then it leaves as a retryable ToolOverloaded failure after Retry-After, and counts as a drop', async () => {
    const limiters = new ToolConcurrency();
    const error = await runWithPermit(limiters, hold, { ms: 1, fail: 'overloaded' }, context().context).catch((caught: unknown) => caught);
    assert.ok(error instanceof ApplicationFailure);
    assert.equal(error.type, 'ToolOverloaded');
    assert.equal(error.nonRetryable, false);
    assert.equal(error.nextRetryDelay, 2000);
    await assert.rejects(runWithPermit(limiters, hold, { ms: 1, fail: 'other' }, context().context), /broken/);
    assert.deepEqual({ drops: limiters.state('hold')!.drops, limit: limiters.state('hold')!.limit }, { drops: 1, limit: 11 });
  });

  test('when a tool declares no key, then it never waits', async () => {
    const limiters = new ToolConcurrency({ adaptive: false, maxPerKey: 1 });
    const free = { ...hold, concurrencyKey: null };
    const started = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => runWithPermit(limiters, free, { ms: 100 }, context().context)));
    assert.ok(Date.now() - started < 400);
    assert.deepEqual(limiters.snapshot(), []);
  });
});

describe('http_get and overload', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/busy') response.writeHead(429, { 'retry-after': '3' }).end('slow down');
      else if (request.url === '/down') response.writeHead(503).end('down');
      else response.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('when the server answers 429 or 503, then http_get throws ToolOverloadedError with its Retry-After, keyed by host', async () => {
    const tool = createHttpGetTool({ allowPrivate: true, allowedHosts: [], timeoutMs: 5000, maxBytes: 10_000 });
    assert.equal(tool.concurrencyKey!({ url: `${base}/busy` }), `http_get:${new URL(base).host}`);
    assert.equal(tool.concurrencyKey!({ url: 'not a url' }), 'http_get:?');
    const busy = await Promise.resolve(tool.run({ url: `${base}/busy` }, context().context)).catch((error: unknown) => error);
    assert.ok(busy instanceof ToolOverloadedError);
    assert.equal(busy.retryAfterMs, 3000);
    assert.equal(busy.message, `${new URL(base).host} answered 429 Too Many Requests; retry after 3 s`);
    const down = await Promise.resolve(tool.run({ url: `${base}/down` }, context().context)).catch((error: unknown) => error);
    assert.ok(down instanceof ToolOverloadedError && down.retryAfterMs === undefined && /503 Service Unavailable$/.test(down.message));
  });

  test('when Retry-After is seconds or a date, then it is read; absent, unreadable or over a minute, then it is not', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('5', now), 5000);
    assert.equal(retryAfterMs(['2'], now), 2000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs('3600', now), undefined);
  });
});
