import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { resolveAccess } from '../src/api/auth/access';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { createHttpGetTool, cacheLifetimeMs } from '../src/activities/tools/http-get-tool';
import { ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { ToolResultCache } from '../src/activities/tools/tool-cache';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { readSse, type ReceivedEvent } from './helpers/sse';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { Metrics } from '../src/telemetry/metrics';
import { samplesOf, total } from './helpers/metrics';

// Tool result caching: a tool with a cache policy reuses an equal call's result (same tenant,
// tool and canonical arguments) while it is fresh, on any worker and after restarts, because the
// cache lives in Temporal. The hit is the call's recorded result, and tool.completed says cached.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
/** The model calls the tool named in the input ("call <tool> <json arguments>"), then answers with its result. */
const responder: Responder = (request) => {
  const toolMessage = request.messages.findLast((message) => message.role === 'tool');
  if (toolMessage) return { kind: 'stream', frames: textFrames(request.model, `result: ${toolMessage.content}`, fast) };
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const [, name, args] = /^call (\S+) (.*)$/.exec(input) ?? [];
  return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: name!, arguments: args! }], fast) };
};

let executions = 0;
const lookupTool: ToolDefinition<{ city: string; units?: string }> = {
  name: 'lookup',
  description: 'Looks a city up (slowly, at a cost).',
  parameters: z.object({ city: z.string(), units: z.string().optional() }),
  idempotent: true,
  cache: { ttlMs: 60_000 },
  run: ({ city, units }) => `${city} #${++executions}${units ? ` in ${units}` : ''}`,
};

const acmeKey = 'acme-cache-key-0123456789abcdef';
const globexKey = 'globex-cache-key-0123456789abcdef';
let temporal: TestTemporal;
let page: Server;
let pageUrl: string;
let pageRequests = 0;

function stackOptions() {
  const config = loadConfig({});
  return {
    tools: new ToolRegistry([lookupTool, createHttpGetTool({ ...config.tools.httpGet, allowedHosts: ['127.0.0.1'], cacheTtlMs: 60_000 })]),
    access: resolveAccess({ mode: 'auto', keys: `acme:${acmeKey},globex:${globexKey}`, host: '127.0.0.1' }),
  };
}

async function runTool(stack: TestStack, key: string, input: string, extra: Record<string, unknown> = {}) {
  const created = await callApi(stack.url, 'POST', '/v1/runs', key, { input, tools: ['lookup', 'http_get'], ...extra });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const { events } = await readSse(`${stack.url}${created.body.links.events}`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(events.at(-1)?.event, 'run.completed', events.map((event) => event.event).join(','));
  const completed = events.find((event) => event.event === 'tool.completed') as ReceivedEvent;
  const run = await callApi(stack.url, 'GET', `/v1/runs/${created.body.runId}`, key);
  return { completed: completed.data as { result: string; cached?: boolean }, run: run.body, runId: created.body.runId as string };
}

before(async () => {
  temporal = await startTemporal();
  page = createServer((request, response) => {
    pageRequests++;
    response.setHeader('content-type', 'text/plain');
    if (request.url === '/private') response.setHeader('cache-control', 'no-store');
    response.end(`page ${request.url} #${pageRequests}`);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
});

after(async () => {
  page?.close();
  await temporal?.teardown();
});

describe('keys and lifetimes', () => {
  test('equal arguments in another key order or number spelling share a key; tenants and tools do not', () => {
    const key = ToolResultCache.key('acme', 'lookup', { city: 'Oslo', days: 1 });
    assert.equal(ToolResultCache.key('acme', 'lookup', JSON.parse('{"days": 1.0, "city": "Oslo"}')), key);
    assert.notEqual(ToolResultCache.key('globex', 'lookup', { city: 'Oslo', days: 1 }), key);
    assert.notEqual(ToolResultCache.key('acme', 'other', { city: 'Oslo', days: 1 }), key);
    assert.notEqual(ToolResultCache.key('acme', 'lookup', { city: 'Oslo', days: 2 }), key);
    assert.match(key, /^tool-cache-[A-Za-z0-9_-]{43}$/, 'the id says nothing of the call');
  });

  test('http_get keeps what the server lets it keep', () => {
    assert.equal(cacheLifetimeMs(200, undefined), Number.POSITIVE_INFINITY);
    assert.equal(cacheLifetimeMs(200, 'public, max-age=30'), 30_000);
    assert.equal(cacheLifetimeMs(200, 'no-store'), 0);
    assert.equal(cacheLifetimeMs(200, 'private, max-age=600'), 0);
    assert.equal(cacheLifetimeMs(200, 'No-Cache'), 0);
    assert.equal(cacheLifetimeMs(503, undefined), 0);
    assert.equal(cacheLifetimeMs(429, 'max-age=60'), 0);
  });

  test('a cache policy on a tool that is not idempotent is refused', () => {
    assert.throws(() => new ToolRegistry([{ ...lookupTool, idempotent: false }]), /not idempotent/);
    assert.throws(() => new ToolRegistry([{ ...lookupTool, cache: { ttlMs: 10 } }]), /cache.ttlMs/);
  });
});

describe('a cached tool across workers and restarts', () => {
  test('the second equal call, on another worker, is a hit; then after both stopped, on a new one too', async () => {
    const first = await startTestStack(temporal, responder, stackOptions());
    // The second worker's metrics: its hits, one per call answered from the cache.
    const secondMetrics = new Metrics();
    const second = await startTestStack(temporal, responder, { ...stackOptions(), metrics: secondMetrics });
    const before = executions;
    try {
      const miss = await runTool(first, acmeKey, 'call lookup {"city":"Oslo","units":"metric"}');
      assert.equal(miss.completed.cached, undefined);
      assert.equal(executions, before + 1);

      // Another worker (its own task queue) and the arguments in another order: the same call.
      const hit = await runTool(second, acmeKey, 'call lookup {"units":"metric","city":"Oslo"}');
      assert.equal(hit.completed.cached, true);
      assert.equal(hit.completed.result, miss.completed.result);
      assert.equal(executions, before + 1, 'the tool did not run again');
      assert.equal(total(await samplesOf(secondMetrics), 'durable_agents_tool_cache_hits_total', { tool: 'lookup' }), 1);
      assert.equal(total(await samplesOf(secondMetrics), 'durable_agents_tool_call_duration_seconds_count', { tool: 'lookup', outcome: 'completed' }), 1);
      // The hit is the run's recorded result: a late reader sees it as cached too.
      const call = hit.run.steps.flatMap((step: { calls?: Array<{ cached?: boolean; result?: string }> }) => step.calls ?? [])[0];
      assert.equal(call.cached, true);
      const late = await readSse(`${second.url}/v1/runs/${hit.runId}/events`, { headers: { authorization: `Bearer ${acmeKey}` }, signal: AbortSignal.timeout(10_000) });
      assert.equal((late.events.find((event) => event.event === 'tool.completed')?.data as { cached?: boolean }).cached, true);

      // Another tenant never gets acme's result; a run that opts out runs the tool.
      const globex = await runTool(second, globexKey, 'call lookup {"city":"Oslo","units":"metric"}');
      assert.equal(globex.completed.cached, undefined);
      assert.equal(executions, before + 2);
      const optedOut = await runTool(first, acmeKey, 'call lookup {"city":"Oslo","units":"metric"}', { cache: false });
      assert.equal(optedOut.completed.cached, undefined);
      assert.equal(executions, before + 3);
    } finally {
      await first.close();
      await second.close();
    }
    const restarted = await startTestStack(temporal, responder, stackOptions());
    try {
      const again = await runTool(restarted, acmeKey, 'call lookup {"city":"Oslo","units":"metric"}');
      assert.equal(again.completed.cached, true);
      assert.equal(executions, before + 3);
    } finally {
      await restarted.close();
    }
  });

  test('http_get is cached, unless the server says no-store', async () => {
    const stack = await startTestStack(temporal, responder, stackOptions());
    try {
      const requestsBefore = pageRequests;
      const first = await runTool(stack, acmeKey, `call http_get {"url":"${pageUrl}/public"}`);
      const second = await runTool(stack, acmeKey, `call http_get {"url":"${pageUrl}/public"}`);
      assert.equal(first.completed.cached, undefined);
      assert.equal(second.completed.cached, true);
      assert.equal(second.completed.result, first.completed.result);
      assert.equal(pageRequests, requestsBefore + 1);

      await runTool(stack, acmeKey, `call http_get {"url":"${pageUrl}/private"}`);
      const again = await runTool(stack, acmeKey, `call http_get {"url":"${pageUrl}/private"}`);
      assert.equal(again.completed.cached, undefined);
      assert.equal(pageRequests, requestsBefore + 3);
    } finally {
      await stack.close();
    }
  });
});
