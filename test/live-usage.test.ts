import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { tokenCounterFor } from '../src/activities/context';
import { UsageMeter } from '../src/activities/usage-meter';
import { durableEvents } from '../src/api/durable-events';
import { streamingUsage } from '../src/api/live-usage';
import { RunCosts } from '../src/api/run-costs';
import { RunReader } from '../src/api/run-reader';
import { ConfigError, loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import type { LiveRelay } from '../src/relay/live-relay';
import { costOf, priceOf } from '../src/shared/prices';
import { assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Issue 12, point 5: usage.updated while a model step streams, run totals live in GET
// /v1/runs/:id, the run's token budget (maxTokens), and costs from the price table, on a real
// Temporal dev server with a scripted model over real HTTP.

const words = (count: number) => Array.from({ length: count }, (_, index) => `word${index}`).join(' ');
const slowText = words(80);
const task = (request: ChatRequest) => String(request.messages.find((message) => message.role === 'user')?.content ?? '');
const calls = new Map<string, number>();

function reply(request: ChatRequest): Reply {
  const input = task(request);
  const count = (calls.get(input) ?? 0) + 1;
  calls.set(input, count);
  // 80 words, 20 ms apart: about 1.6 s of text, several estimates (one per 250 ms at most).
  if (input.startsWith('slow')) return { kind: 'stream', frames: textFrames(request.model, slowText, { firstTokenDelayMs: 0, tokenDelayMs: 20 }, { prompt_tokens: 123, completion_tokens: 80 }) };
  if (input.startsWith('tools')) {
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: `call_${count}`, name: 'calculator', arguments: '{"expression":"1+1"}' }], { firstTokenDelayMs: 0, tokenDelayMs: 0 }, 400) };
  }
  return { kind: 'stream', frames: textFrames(request.model, 'Short answer.', { firstTokenDelayMs: 0, tokenDelayMs: 0 }, { prompt_tokens: 10, completion_tokens: 3 }) };
}

const price = { input: 3, output: 15 };
let environment: TestTemporal;
let stack: TestStack;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, reply, {
    // The scripted model has a price (USD per million tokens); gpt-4o keeps its list price.
    modelSettings: { prices: new Map([...(loadConfig({}).model.prices ?? []), ['scripted', price]]) },
    heartbeatIntervalMs: 200,
  });
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

async function start(body: Record<string, unknown>) {
  const started = await stack.post('/v1/runs', body);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return { runId: started.body.runId as string, eventsUrl: `${stack.url}${started.body.links.events}` };
}

const usageEvents = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'usage.updated');

describe('live usage during a model step', () => {
  test('when a step streams, then usage.updated events come before step.completed with growing counts, the budget fraction and a cost, and step.completed has the exact usage', async () => {
    const { eventsUrl } = await start({ input: 'slow: tell me a lot', tools: [], maxTokens: 10_000 });
    const { events } = await readSse(eventsUrl);
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    const updates = usageEvents(events);
    assert.ok(updates.length >= 3, `several estimates over 1.6 s of text, throttled (got ${updates.length})`);
    assert.ok(updates.length <= 12, `no more often than every 250 ms (got ${updates.length})`);
    const completed = events.findIndex((event) => event.event === 'step.completed');
    assert.ok(events.indexOf(updates.at(-1)!) < completed, 'all before step.completed');
    const counts = updates.map((event) => event.data.usage.completionTokens);
    for (let index = 1; index < counts.length; index++) assert.ok(counts[index]! > counts[index - 1]!, `completion tokens grow: ${counts.join(', ')}`);
    for (const update of updates) {
      assert.equal(update.data.estimated, true);
      assert.equal(update.data.model, 'scripted');
      assert.equal(update.data.maxTokens, 10_000);
      assert.ok(update.data.usage.promptTokens > 0, 'the prompt as counted when it was fitted');
      assert.equal(update.data.usage.totalTokens, update.data.usage.promptTokens + update.data.usage.completionTokens);
      assert.equal(update.data.runTokens, update.data.usage.totalTokens, 'the first step: the run so far is this step');
      assert.equal(update.data.fraction, update.data.runTokens / 10_000);
      assert.deepEqual(update.data.cost, costOf(price, update.data.usage));
      // Its id is the client's position: that of the text delta it counted.
      const before = events[events.indexOf(update) - 1]!;
      assert.equal(update.id, before.id);
      assert.equal(before.event, 'text.delta');
    }
    assertIncreasingIds(events);
    const exact = { promptTokens: 123, completionTokens: 80, totalTokens: 203 };
    assert.deepEqual(events[completed]!.data.usage, exact, 'the provider\'s count at the end');
    assert.deepEqual(events[completed]!.data.cost, costOf(price, exact));
    assert.deepEqual(events.at(-1)!.data.cost, costOf(price, exact), 'the run\'s cost at its end');
    // The estimate (characters / 3 for an unknown model) is of the right size.
    assert.ok(Math.abs(counts.at(-1)! - 80 * 6.5 / 3) < 80, `estimate ${counts.at(-1)} near ${Math.round((80 * 6.5) / 3)}`);
  });

  test('when GET /v1/runs/:id is asked while a step streams, then the totals include its estimate, with a cost; once done, the exact figures', async () => {
    const { runId, eventsUrl } = await start({ input: 'slow: and watch the totals', tools: [] });
    let seen: ReceivedEvent | undefined;
    await readSse(eventsUrl, { until: (event) => event.event === 'usage.updated' && event.data.usage.completionTokens > 20 && (seen = event) !== undefined });
    const during = await stack.get(`/v1/runs/${runId}`);
    assert.equal(during.status, 200);
    assert.equal(during.body.status, 'running');
    assert.equal(during.body.steps.at(-1).status, 'running');
    const streaming = during.body.streaming;
    assert.ok(streaming, JSON.stringify(during.body));
    assert.deepEqual([streaming.step, streaming.attempt, streaming.model, streaming.estimated], [1, 1, 'scripted', true]);
    assert.ok(streaming.usage.completionTokens >= seen!.data.usage.completionTokens, 'at least as far as the event the client had');
    assert.ok(during.body.usage.totalTokens > 0, 'more than the durable totals (nothing finished yet)');
    assert.deepEqual(during.body.usage, streaming.usage, 'the first step: the run so far is its estimate');
    assert.deepEqual(during.body.cost, costOf(price, streaming.usage));
    assert.equal(during.body.maxTokens, undefined, 'no budget on this run');

    // Another API process (split deployment) has no relay to look in: the step's heartbeat details.
    let description: WorkflowExecutionDescription | undefined;
    const view = await new RunReader(environment.client).read(runId, { onDescribe: (described) => (description = described) });
    const noRelay = { address: 'api' } as LiveRelay;
    const fromHeartbeat = await streamingUsage(view, noRelay, environment.client, description);
    assert.ok(fromHeartbeat, 'the estimate rides on the heartbeat details');
    assert.deepEqual([fromHeartbeat.step, fromHeartbeat.model], [1, 'scripted']);
    assert.ok(fromHeartbeat.usage.completionTokens > 0);

    await environment.client.workflow.getHandle(runId).result();
    const done = await stack.get(`/v1/runs/${runId}`);
    assert.equal(done.body.streaming, undefined);
    assert.deepEqual(done.body.usage, { promptTokens: 123, completionTokens: 80, totalTokens: 203 });
    assert.deepEqual(done.body.cost, costOf(price, done.body.usage));
    assert.deepEqual(done.body.steps[0].cost, done.body.cost);
  });

  test('when a client resumes mid-step with Last-Event-ID, then it gets no estimate older than its position, and the durable tier rebuilds none', async () => {
    const { runId, eventsUrl } = await start({ input: 'slow: resume me', tools: [] });
    let estimates = 0;
    const first = await readSse(eventsUrl, { until: (event) => event.event === 'usage.updated' && ++estimates === 2 });
    // Leave a few deltas past the second estimate: the estimates buffered before are behind the client.
    const more = await readSse(eventsUrl, { headers: { 'last-event-id': first.events.at(-1)!.id }, until: (event, all) => all.filter((seen) => seen.event === 'text.delta').length === 5 });
    const lastId = more.events.at(-1)!.id;
    const offsetOf = (id: string) => Number(id.split('.')[2]);
    const resumed = await readSse(eventsUrl, { headers: { 'last-event-id': lastId } });
    assert.equal(resumed.events.at(-1)?.event, 'run.completed');
    const stale = usageEvents(resumed.events).filter((event) => offsetOf(event.id) < offsetOf(lastId));
    assert.deepEqual(stale, [], 'no estimate of text the client had already passed');
    assertIncreasingIds([more.events.at(-1)!, ...resumed.events]);
    const counts = usageEvents([...first.events, ...more.events, ...resumed.events]).map((event) => event.data.usage.completionTokens);
    // A client resumed exactly where an estimate was made may get that one again, never an older one.
    for (let index = 1; index < counts.length; index++) assert.ok(counts[index]! >= counts[index - 1]!, `in order across the reconnects: ${counts.join(', ')}`);
    // A late reader gets the finished step's live events while the relay retains them (30 s), in
    // their places; the durable tier never rebuilds estimates, only the exact usage.
    const late = await readSse(eventsUrl);
    assertIncreasingIds(late.events);
    assert.ok(late.events.some((event) => event.event === 'step.completed' && event.data.usage.totalTokens === 203));
    const rebuilt = durableEvents(await new RunReader(environment.client).read(runId));
    assert.deepEqual(rebuilt.filter((event) => event.event === 'usage.updated'), []);
  });

  test('when a run on a model with a real tokenizer streams, then its estimates count tokens with it, piece by piece', async () => {
    const { eventsUrl } = await start({ input: 'slow: gpt-4o this time', model: 'gpt-4o', tools: [] });
    const { events } = await readSse(eventsUrl);
    const updates = usageEvents(events);
    assert.ok(updates.length >= 2);
    const text = events.filter((event) => event.event === 'text.delta').map((event) => event.data.delta).join('');
    const last = updates.at(-1)!;
    const exact = tokenCounterFor('gpt-4o').count(text.slice(0, Number(last.id.split('.')[2])));
    assert.ok(Math.abs(last.data.usage.completionTokens - exact) <= updates.length, `${last.data.usage.completionTokens} against ${exact} counted at once`);
    assert.deepEqual(last.data.cost, costOf({ input: 2.5, output: 10 }, last.data.usage), 'gpt-4o at its list price');
  });
});

describe('the run\'s token budget (maxTokens)', () => {
  test('when a run reaches its budget while the model still calls tools, then it fails with max_tokens_exceeded before those tools run', async () => {
    const { runId, eventsUrl } = await start({ input: 'tools: on a budget', tools: ['calculator'], maxTokens: 1000 });
    const { events } = await readSse(eventsUrl);
    const end = events.at(-1)!;
    assert.equal(end.event, 'run.failed', JSON.stringify(end));
    assert.equal(end.data.error.code, 'max_tokens_exceeded');
    assert.match(end.data.error.message, /used 1230 tokens of its budget of 1000 \(maxTokens\)/);
    const state = (await stack.get(`/v1/runs/${runId}`)).body;
    assert.equal(state.status, 'failed');
    // Two model steps of 410 tokens and one tools step between them, then the third step's calls are refused.
    assert.deepEqual(state.steps.map((step: { kind: string }) => step.kind), ['llm', 'tools', 'llm', 'tools', 'llm']);
    assert.equal(state.maxTokens, 1000);
    assert.equal(state.fraction, 1230 / 1000);
    assert.equal(state.usage.totalTokens, 1230);
  });

  test('when maxTokens is not a positive whole number, then the run (and a session) is refused with 400', async () => {
    for (const maxTokens of [0, -5, 1.5, '100', 2_000_000_000, null]) {
      const response = await stack.post('/v1/runs', { input: 'x', maxTokens });
      assert.equal(response.status, 400, `${JSON.stringify(maxTokens)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.error.code, 'invalid_request');
      assert.match(response.body.error.message, /maxTokens/);
    }
    const session = await stack.post('/v1/sessions', { maxTokens: 0 });
    assert.deepEqual([session.status, session.body.error.code], [400, 'invalid_request']);
    const created = await stack.post('/v1/sessions', { maxTokens: 5000 });
    assert.equal(created.status, 201);
    const message = await stack.post(`/v1/sessions/${created.body.sessionId}/messages`, { input: 'hello', maxTokens: 'lots' });
    assert.deepEqual([message.status, message.body.error.code], [400, 'invalid_request']);
  });
});

describe('prices (MODEL_PRICES)', () => {
  test('when MODEL_PRICES is bad, then the configuration is refused at start, naming it', () => {
    const directory = mkdtempSync(join(tmpdir(), 'prices-'));
    const file = join(directory, 'prices.json');
    const refused = (value: string, pattern: RegExp) =>
      assert.throws(() => loadConfig({ MODEL_PRICES: value }), (error: unknown) => error instanceof ConfigError && /MODEL_PRICES/.test(error.message) && pattern.test(error.message));
    refused('{"gpt-4o": ', /not JSON/);
    refused('{"gpt-4o": {"input": -1, "output": 2}}', /"gpt-4o"\.input: must be a number/);
    refused('{"gpt-4o": {"input": 1}}', /"gpt-4o"\.output/);
    refused('{"gpt-4o": {"input": 1, "output": 2, "cached": 0.5}}', /unknown field\(s\) cached/);
    refused('{"gpt-4o": 5}', /must be \{"input": number, "output": number\} or null/);
    refused('[1, 2]', /must be a JSON object/);
    refused(join(directory, 'missing.json'), /neither a JSON object nor a readable file \(ENOENT/);
    writeFileSync(file, '{"my-model": {"input": 0.5, "output": 1.5}, "gpt-4o": null}');
    const prices = loadConfig({ MODEL_PRICES: file }).model.prices!;
    assert.deepEqual(priceOf(prices, 'my-model'), { input: 0.5, output: 1.5 });
    assert.equal(priceOf(prices, 'gpt-4o'), undefined, 'null takes a default out');
    assert.deepEqual(priceOf(prices, 'gpt-4o-mini'), { input: 0.15, output: 0.6 }, 'the other defaults stay');
    assert.equal(loadConfig({ MODEL_PRICES_DEFAULTS: 'false' }).model.prices!.size, 0);
  });

  test('when a model is looked up, then its reference, its name or its dated snapshot finds the price, and nothing else does', () => {
    const prices = loadConfig({ MODEL_PRICES: '{"My-Model": {"input": 1, "output": 2}}' }).model.prices!;
    assert.deepEqual(priceOf(prices, 'my-model'), { input: 1, output: 2 }, 'names are not case-sensitive');
    assert.deepEqual(priceOf(prices, 'openai:gpt-4o@http://proxy.internal/v1'), { input: 2.5, output: 10 });
    assert.deepEqual(priceOf(prices, 'gpt-4o-2024-08-06'), { input: 2.5, output: 10 });
    assert.deepEqual(priceOf(prices, 'anthropic:claude-sonnet-4-20250514'), { input: 3, output: 15 });
    assert.deepEqual(priceOf(prices, 'claude-3-5-haiku-latest'), { input: 0.8, output: 4 });
    assert.equal(priceOf(prices, 'gpt-4o-audio-preview'), undefined, 'no prefix guessing');
    assert.equal(priceOf(prices, 'llama3.1:8b'), undefined, 'unknown models have no price (not 0)');
    assert.deepEqual(costOf({ input: 3, output: 15 }, { promptTokens: 1000, completionTokens: 100 }), { currency: 'USD', input: 0.003, output: 0.0015, total: 0.0045 });
  });
});

describe('run costs', () => {
  const prices = new Map([
    ['primary', { input: 1, output: 2 }],
    ['backup', { input: 10, output: 20 }],
  ]);
  const costs = new RunCosts(prices);
  const usage = (promptTokens: number, completionTokens: number) => ({ promptTokens, completionTokens, totalTokens: promptTokens + completionTokens });

  test('when a run used two models, then each model\'s tokens are priced at its own prices, and a step at the prices of the model that answered it', () => {
    const view = { model: 'primary', usage: usage(3_000_000, 2_000_000), modelUsage: [{ model: 'primary', usage: usage(1_000_000, 1_000_000) }, { model: 'backup', usage: usage(2_000_000, 1_000_000) }] };
    assert.deepEqual(costs.ofRun(view), { currency: 'USD', input: 21, output: 22, total: 43 });
    assert.deepEqual(costs.ofRun(view, { model: 'backup', usage: usage(100_000, 0) }), { currency: 'USD', input: 22, output: 22, total: 44 }, 'with a streaming step\'s estimate');
    assert.deepEqual(costs.ofStep({ step: 1, kind: 'llm', status: 'completed', model: 'backup', usage: usage(1_000_000, 0) }, 'primary')?.total, 10);
    assert.deepEqual(costs.ofStep({ step: 1, kind: 'llm', status: 'completed', usage: usage(1_000_000, 0) }, 'primary')?.total, 1, 'steps recorded before the model was: the run\'s');
  });

  test('when part of a run is on a model without a price, then the run has no cost; runs recorded before modelUsage count on the run\'s model', () => {
    assert.equal(costs.ofRun({ model: 'primary', usage: usage(2, 0), modelUsage: [{ model: 'primary', usage: usage(1, 0) }, { model: 'free-for-all', usage: usage(1, 0) }] }), undefined);
    assert.equal(costs.ofRun({ model: 'unknown', usage: usage(0, 0), modelUsage: [] }), undefined, 'not 0');
    assert.deepEqual(costs.ofRun({ model: 'primary', usage: usage(0, 0), modelUsage: [] })?.total, 0);
    assert.deepEqual(costs.ofRun({ model: 'backup', usage: usage(1_000_000, 0) })?.total, 10);
    assert.equal(new RunCosts(new Map()).ofRun({ model: 'primary', usage: usage(5, 5) }), undefined, 'no prices, no costs');
  });
});

describe('the usage meter', () => {
  test('when text streams, then an estimate is due at most once per interval, and counting goes piece by piece at near the cost of counting once', () => {
    let now = 0;
    const counter = tokenCounterFor('gpt-4o');
    counter.count('loads the encoding now');
    const meter = new UsageMeter(counter, 50, 250, () => now);
    const pieces = Array.from({ length: 4000 }, (_, index) => `token${index} `);
    let text = '';
    let estimates = 0;
    const started = performance.now();
    for (const piece of pieces) {
      text += piece;
      now += 5;
      if (meter.due(text)) estimates++;
    }
    const metered = performance.now() - started;
    assert.equal(estimates, Math.ceil((4000 * 5) / 250), 'one per 250 ms of stream');
    const once = performance.now();
    const exact = counter.count(text);
    const countedOnce = performance.now() - once;
    const last = meter.estimate(text);
    assert.ok(Math.abs(last.completionTokens - exact) <= estimates + 1, `${last.completionTokens} against ${exact}`);
    assert.equal(last.promptTokens, 50);
    // Linear, not quadratic: counting 80 pieces of the text costs about what counting it once does.
    assert.ok(metered < countedOnce * 4 + 20, `metered ${metered.toFixed(1)} ms, counted once ${countedOnce.toFixed(1)} ms`);
  });
});
