import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { defaultTools } from '../src/activities/tools';
import { ToolInputError, ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { summarizeTools } from '../src/workflows/tool-stats';
import { readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Tool analytics shared by every worker: durations and outcomes of each tool's calls go to one
// Temporal workflow; tool.started carries the tool's recent p50 once there is history, progress
// with a fraction carries the time left, and GET /v1/tools lists every tool with its stats.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const responder: Responder = (request) => {
  if (request.messages.some((message) => message.role === 'tool')) return { kind: 'stream', frames: textFrames(request.model, 'done', fast) };
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'survey', arguments: JSON.stringify({ fail: input.includes('fail') }) }], fast) };
};

/** Takes about 150 ms, reporting halfway; fails on request. */
const survey: ToolDefinition<{ fail: boolean }> = {
  name: 'survey',
  description: 'Surveys, in about 150 ms.',
  parameters: z.object({ fail: z.boolean() }),
  idempotent: true,
  async run({ fail }, context) {
    await sleep(75);
    context.progress({ message: 'half way', fraction: 0.5 });
    await sleep(75);
    if (fail) throw new ToolInputError('the survey failed');
    return 'surveyed';
  },
};

let temporal: TestTemporal;
let first: TestStack;
/** Another deployment in the same namespace (its own task queue): its own analytics. */
let other: TestStack;

before(async () => {
  temporal = await startTemporal();
  const tools = () => new ToolRegistry([...defaultTools(loadConfig({}).tools), survey]);
  first = await startTestStack(temporal, responder, { tools: tools() });
  // Workers of one deployment sharing the analytics are separate processes (the SDK allows one
  // worker per task queue in a process): split.test.ts shows that.
  other = await startTestStack(temporal, responder, { tools: tools() });
});

after(async () => {
  await first?.close();
  await other?.close();
  await temporal?.teardown();
});

async function run(stack: TestStack, input: string) {
  const started = await stack.post('/v1/runs', { input, tools: ['survey'] });
  assert.equal(started.status, 202);
  const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(events.at(-1)?.event, 'run.completed');
  return events;
}

const find = (events: ReceivedEvent[], name: string) => events.find((event) => event.event === name)!.data as Record<string, any>;

test('the percentiles of a tool: over the durations of calls that ran and succeeded', () => {
  const summary = summarizeTools({ survey: { calls: 12, errors: 1, cacheHits: 1, durations: [100, 300, 200, 400, 500, 600, 700, 800, 900, 1000] } });
  assert.deepEqual(summary.survey, { calls: 12, errors: 1, cacheHits: 1, samples: 10, p50Ms: 600, p90Ms: 1000 });
});

test('calls feed the deployment’s stats: GET /v1/tools, estimates on tool.started, and the time left on progress', async () => {
  const early = await run(first, 'survey once');
  assert.equal(find(early, 'tool.started').estimatedMs, undefined, 'no history yet: no estimate');
  const progress = find(early, 'tool.progress');
  assert.ok(progress.etaMs > 20 && progress.etaMs < 2000, `half done after about 75 ms: about 75 ms left, said ${progress.etaMs}`);
  for (let index = 0; index < 3; index++) await run(first, 'survey again');
  await run(first, 'survey and fail');

  // Every worker's samples, together (they are sent every 2 s and read every 2 s).
  let listed: any;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(250)) {
    listed = (await first.get('/v1/tools')).body.tools.find((tool: { name: string }) => tool.name === 'survey');
    if (listed.stats.calls >= 5) break;
  }
  assert.equal(listed.stats.calls, 5);
  assert.equal(listed.stats.samples, 4);
  assert.equal(listed.stats.errorRate, 1 / 5);
  assert.equal(listed.stats.cacheHitRate, 0);
  assert.ok(listed.stats.p50Ms >= 140 && listed.stats.p50Ms < 2000, `p50 ${listed.stats.p50Ms}`);
  assert.ok(listed.stats.p90Ms >= listed.stats.p50Ms);
  assert.equal(listed.source, 'custom');
  assert.deepEqual(listed.parameters.required, ['fail']);
  assert.equal(listed.policy.idempotent, true);
  assert.equal(listed.policy.maximumAttempts, 3);

  // Every tool is listed, with its schema; http_get with its cache policy.
  const all = (await first.get('/v1/tools')).body.tools as Array<{ name: string; source: string; policy: { cacheTtlMs?: number } }>;
  assert.deepEqual(all.map((tool) => tool.name).sort(), [...new ToolRegistry([...defaultTools(loadConfig({}).tools), survey]).names].sort());
  assert.equal(all.find((tool) => tool.name === 'http_get')?.policy.cacheTtlMs, 60_000);
  assert.equal(all.find((tool) => tool.name === 'calculator')?.source, 'built-in');

  // A worker reads the stats in the background: a later call's tool.started carries the estimate.
  let started: Record<string, any> = {};
  for (const deadline = Date.now() + 20_000; started.estimatedMs === undefined && Date.now() < deadline; ) started = find(await run(first, 'survey with an estimate'), 'tool.started');
  assert.ok(started.estimatedMs >= 140 && started.estimatedMs < 2000, `estimate ${started.estimatedMs}`);
  assert.ok(started.estimateSamples >= 4);

  // Another deployment on the same Temporal keeps its own analytics, and takes samples with its
  // own workers (one workflow per task queue).
  const elsewhere = (await other.get('/v1/tools')).body.tools.find((tool: { name: string }) => tool.name === 'survey');
  assert.ok(!(elsewhere.stats?.calls > 0), 'not the other deployment’s calls');
  await run(other, 'survey elsewhere');
  let counted: any;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(250)) {
    counted = (await other.get('/v1/tools')).body.tools.find((tool: { name: string }) => tool.name === 'survey');
    if (counted.stats?.calls >= 1) break;
  }
  assert.equal(counted.stats.calls, 1);
});
