import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { createHttpGetTool } from '../src/activities/tools/http-get-tool';
import { ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Adaptive tool concurrency on a real worker and Temporal: many parallel http_get calls to a
// server that takes 4 at once and answers 429 past that. The worker's limit for that host backs
// off, every call completes (retried after the server's Retry-After), and calls waiting for a
// slot heartbeat, say that they wait, and stop at once when the run is cancelled.

const capacity = 4;
const calls = 24;

interface Backend {
  server: Server;
  base: string;
  inFlight: number;
  maxInFlight: number;
  served: number;
  refused: number;
  /** Arrival times of each path's requests. */
  arrivals: Map<string, Array<{ at: number; status: number }>>;
}

function startBackend(): Promise<Backend> {
  const backend: Backend = { server: undefined!, base: '', inFlight: 0, maxInFlight: 0, served: 0, refused: 0, arrivals: new Map() };
  backend.server = createServer((request, response) => {
    backend.inFlight++;
    backend.maxInFlight = Math.max(backend.maxInFlight, backend.inFlight);
    const busy = backend.inFlight > capacity;
    const list = backend.arrivals.get(request.url!) ?? [];
    list.push({ at: Date.now(), status: busy ? 429 : 200 });
    backend.arrivals.set(request.url!, list);
    const end = (status: number, body: string, headers: Record<string, string> = {}) => {
      backend.inFlight--;
      response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
    };
    if (busy) {
      backend.refused++;
      end(429, 'too many', { 'retry-after': '1' });
    } else {
      backend.served++;
      setTimeout(() => end(200, `served ${request.url}`), 150);
    }
  });
  return new Promise((resolve) =>
    backend.server.listen(0, '127.0.0.1', () => {
      backend.base = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
      resolve(backend);
    }),
  );
}

/** Runs until cancelled. */
const blocker: ToolDefinition<Record<string, never>> = {
  name: 'blocker',
  description: 'blocks until cancelled',
  parameters: z.object({}),
  idempotent: true,
  run: (_args, context) => new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true })),
};

let temporal: TestTemporal;
let backend: Backend;
let stack: TestStack;
let tools: ToolRegistry;
let fixedStack: TestStack;
let fixedTools: ToolRegistry;

before(async () => {
  temporal = await startTemporal();
  backend = await startBackend();
  // Loopback is refused by default (address-policy.ts); the test server is allowed by name.
  // Retries: the tool's own policy (3 attempts) could run out for an unlucky call while the
  // limit is still being learned; the point here is the limiter, so give it room.
  const httpGet = { ...createHttpGetTool({ allowPrivate: false, allowedHosts: ['127.0.0.1'], timeoutMs: 5000, maxBytes: 10_000 }), retry: { maximumAttempts: 8, initialIntervalMs: 200, maximumIntervalMs: 1000 } };
  tools = new ToolRegistry([httpGet]);
  stack = await startTestStack(temporal, toolScript, { tools, toolConcurrency: 64 });
  fixedTools = new ToolRegistry([blocker], { concurrency: { adaptive: false, maxPerKey: 1 } });
  fixedStack = await startTestStack(temporal, toolScript, { tools: fixedTools });
});

after(async () => {
  await stack?.close();
  await fixedStack?.close();
  await new Promise<void>((resolve) => (backend ? backend.server.close(() => resolve()) : resolve()));
  await temporal?.teardown();
});

async function fetchAll(target: TestStack, prefix: string) {
  const input = toolCallScriptInput(...Array.from({ length: calls }, (_, index) => ['http_get', { url: `${backend.base}/${prefix}/${index}` }] as [string, unknown]));
  const started = await target.post('/v1/runs', { input });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { events } = await readSse(`${target.url}/v1/runs/${started.body.runId}/events`, { signal: AbortSignal.timeout(60_000) });
  return events;
}

describe('adaptive concurrency per host', () => {
  test('when a host answers 429 past 4 calls at once, then the limit for that host backs off and every one of 24 parallel calls completes', async (t) => {
    const before = { refused: backend.refused };
    backend.maxInFlight = 0;
    const events = await fetchAll(stack, 'first');
    assert.equal(events.at(-1)!.event, 'run.completed');
    const completed = events.filter((event) => event.event === 'tool.completed');
    assert.equal(completed.length, calls);
    assert.equal(events.filter((event) => event.event === 'tool.failed').length, 0);
    for (const event of completed) assert.equal(JSON.parse(event.data.result).status, 200);
    const key = `http_get:${new URL(backend.base).host}`;
    const state = tools.concurrency.state(key)!;
    assert.ok(state.drops > 0 && state.cuts > 0, JSON.stringify(state));
    assert.ok(state.limit < 16, `cut below its start of 16: ${JSON.stringify(state)}`);
    assert.deepEqual({ inFlight: state.inFlight, waiting: state.waiting }, { inFlight: 0, waiting: 0 });
    // The step let 24 calls start at once (TOOL_CONCURRENCY 64); the host never saw more than the
    // limit's start.
    assert.ok(backend.maxInFlight <= 16, `host saw ${backend.maxInFlight} at once`);
    const firstRefusals = backend.refused - before.refused;
    assert.ok(firstRefusals > 0);
    // A refused call came back after the server's Retry-After (1 s), not the policy's 200 ms.
    for (const [path, list] of backend.arrivals) {
      if (!path.startsWith('/first/')) continue;
      list.forEach((arrival, index) => {
        if (arrival.status === 429 && list[index + 1]) assert.ok(list[index + 1]!.at - arrival.at >= 900, `${path}: retried after ${list[index + 1]!.at - arrival.at} ms`);
      });
    }

    // The worker remembers: the same burst again meets a limit that already fits the host.
    backend.maxInFlight = 0;
    const again = await fetchAll(stack, 'second');
    assert.equal(again.filter((event) => event.event === 'tool.completed').length, calls);
    const secondRefusals = backend.refused - before.refused - firstRefusals;
    assert.ok(secondRefusals < firstRefusals, `refused ${firstRefusals}, then ${secondRefusals}`);
    assert.ok(backend.maxInFlight <= capacity + 3, `host saw ${backend.maxInFlight} at once the second time`);
    t.diagnostic(`refused ${firstRefusals} then ${secondRefusals}; limit ${JSON.stringify(tools.concurrency.state(key))}`);
  });

  test('when calls wait for a slot, then they heartbeat, say that they wait, and stop at once when the run is cancelled', async () => {
    const started = await fixedStack.post('/v1/runs', { input: toolCallScriptInput(['blocker', {}], ['blocker', {}], ['blocker', {}]) });
    const { runId } = started.body as { runId: string };
    const stream = readSse(`${fixedStack.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(30_000) });
    // Longer than the heartbeat timeout (5 s): waiting calls that did not heartbeat would time out.
    await sleep(6500);
    const description = await temporal.client.workflow.getHandle(runId).describe();
    const pending = description.raw.pendingActivities ?? [];
    assert.equal(pending.length, 3);
    for (const activity of pending) {
      assert.equal(activity.attempt, 1, 'no attempt timed out');
      const lastBeat = Number(activity.lastHeartbeatTime!.seconds) * 1000;
      assert.ok(Date.now() - lastBeat < 3000, `last heartbeat ${Date.now() - lastBeat} ms ago`);
    }
    assert.deepEqual(fixedTools.concurrency.state('blocker'), { key: 'blocker', adaptive: false, limit: 1, inFlight: 1, waiting: 2, successes: 0, drops: 0, cuts: 0, latency: [] });
    const cancelledAt = Date.now();
    assert.equal((await fixedStack.post(`/v1/runs/${runId}/cancel`, {})).status, 202);
    const { events } = await stream;
    assert.equal(events.at(-1)!.event, 'run.cancelled');
    assert.ok(Date.now() - cancelledAt < 3000, `ended ${Date.now() - cancelledAt} ms after the cancel`);
    const waits = events.filter((event) => event.event === 'tool.progress' && /^waiting for a free slot: blocker runs at most 1 at once/.test(event.data.progress.message));
    assert.equal(waits.length, 2, 'each waiting call said so');
    assert.deepEqual(fixedTools.concurrency.state('blocker')!.waiting, 0);
    assert.deepEqual(fixedTools.concurrency.state('blocker')!.inFlight, 0);
  });
});
