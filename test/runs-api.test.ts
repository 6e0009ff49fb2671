import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { RunStore } from '../src/api/run-store';
import { textFrames } from '../src/demo-model/chunks';
import { demoReply } from '../src/demo-model/demo-script';
import type { Responder } from '../src/demo-model/server';
import { serverCounter, startTemporal, type TestTemporal } from './helpers/temporal';
import { assembleText, assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';

const pace = { firstTokenDelayMs: 20, tokenDelayMs: 15 };
const longText = Array.from({ length: 60 }, (_, index) => `word${index}`).join(' ') + ' — done. ✓';

/** The demo model, except that inputs starting with "long" get `longText` streamed slowly. */
const responder: Responder = (request) => {
  const last = request.messages.at(-1);
  if (last?.role === 'user' && last.content?.startsWith('slow first')) {
    return { kind: 'stream', frames: textFrames(request.model, 'at last', { firstTokenDelayMs: 400, tokenDelayMs: 5 }) };
  }
  if (last?.role === 'user' && last.content?.startsWith('long')) {
    return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 20, tokenDelayMs: 25 }) };
  }
  return demoReply(request, pace);
};

const allText = (events: ReceivedEvent[]) => [...assembleText(events).values()].join('');

let environment: TestTemporal;
let stack: TestStack;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, responder, {
    limits: { maxSteps: 20, maxInputChars: 1000, approvalTimeoutMs: 60_000 },
    stream: { keepAliveMs: 100 },
  });
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

async function startRun(body: Record<string, unknown>): Promise<string> {
  const response = await stack.post('/v1/runs', body);
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.runId;
}

describe('a full turn over SSE', () => {
  test('when a run asks arithmetic, then the client sees the tool calls live and a streamed answer equal to the transcript', async () => {
    const started = await stack.post('/v1/runs', { input: 'What is 12*7 and (3+4)/2?' });
    assert.equal(started.status, 202);
    const { runId, links } = started.body;
    assert.match(runId, /^run_/);
    // The link carries a stream token, so it works as-is in EventSource.
    assert.match(links.events, new RegExp(`^/v1/runs/${runId}/events\\?token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    assert.match(links.temporalUi, new RegExp(`^http://localhost:8233/namespaces/default/workflows/${runId}/[0-9a-f-]{36}/history$`));

    const { events, headers, status } = await readSse(`${stack.url}${links.events}`);
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(headers.get('x-accel-buffering'), 'no');
    assert.match(headers.get('cache-control') ?? '', /no-cache/);

    assertIncreasingIds(events);
    // usage.updated (live estimates while a model step streams) comes and goes with timing: not counted here.
    const names = events.filter((event) => event.event !== 'text.delta' && event.event !== 'usage.updated').map((event) => `${event.event}:${event.data.step}`);
    const toolEvents = names.filter((name) => name.startsWith('tool.'));
    assert.deepEqual(names.filter((name) => !name.startsWith('tool.')), [
      'run.started:0',
      'step.started:1',
      'step.completed:1',
      'step.started:2',
      'step.completed:2',
      'step.started:3',
      'step.completed:3',
      'run.completed:3',
    ]);
    assert.deepEqual(toolEvents.sort(), ['tool.completed:2', 'tool.completed:2', 'tool.started:2', 'tool.started:2']);
    const toolsStep = events.filter((event) => event.event.startsWith('tool.'));
    for (const call of new Set(toolsStep.map((event) => event.data.callId))) {
      const mine = toolsStep.filter((event) => event.data.callId === call).map((event) => event.event);
      assert.deepEqual(mine, ['tool.started', 'tool.completed'], `call ${call}`);
    }
    const expressionOf = new Map(toolsStep.filter((event) => event.event === 'tool.started').map((event) => [event.data.callId, JSON.parse(event.data.arguments).expression]));
    const results = Object.fromEntries(toolsStep.filter((event) => event.event === 'tool.completed').map((event) => [expressionOf.get(event.data.callId), event.data.result]));
    assert.deepEqual(results, { '12*7': '84', '(3+4)/2': '3.5' });
    const terminal = events.at(-1)!;
    assert.equal(terminal.id, 'done');
    assert.equal(allText(events), terminal.data.output);
    assert.match(terminal.data.output, /12\*7 = 84; \(3\+4\)\/2 = 3.5/);
    assert.ok(terminal.data.usage.totalTokens > 0);

    const run = await stack.get(`/v1/runs/${runId}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.status, 'completed');
    assert.equal(run.body.output, terminal.data.output);
    assert.equal(run.body.steps.length, 3);
    assert.equal(run.body.stepCount, 3);
    assert.deepEqual(run.body.steps.map((step: { kind: string }) => step.kind), ['llm', 'tools', 'llm']);
    assert.equal(run.body.steps[1].calls[0].result, '84');
    assert.deepEqual(run.body.usage, terminal.data.usage);
  });

  test('when the model streams, then the first token reaches the client before the model has finished', async () => {
    const runId = await startRun({ input: 'long answer please' });
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    const deltas = events.filter((event) => event.event === 'text.delta');
    assert.ok(deltas.length > 10, `expected many deltas, got ${deltas.length}`);
    const modelRequest = stack.model.requests.find((request) => request.body.messages.at(-1)?.content === 'long answer please')!;
    assert.ok(modelRequest.completedAt, 'the model finished its response');
    assert.ok(deltas[0]!.at < modelRequest.completedAt!, 'first token arrived while the model was still streaming');
    assert.equal(allText(events), longText);
  });

  test('when a model step completes, then its time to first token (the worker\'s measure) is in step.completed and in the run\'s steps', async () => {
    const runId = await startRun({ input: 'slow first token' });
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    const completed = events.find((event) => event.event === 'step.completed')!;
    const measured = (completed.data as { firstTokenMs?: number }).firstTokenMs;
    assert.ok(measured !== undefined && measured >= 400 && measured < 10_000, `firstTokenMs ${measured}`);
    const run = await stack.get(`/v1/runs/${runId}`);
    assert.equal(run.body.steps[0].firstTokenMs, measured);
    // A late reader rebuilds the same event from durable state.
    const again = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.equal((again.events.find((event) => event.event === 'step.completed')!.data as { firstTokenMs?: number }).firstTokenMs, measured);
  });

  test('when nothing happens for a while, then the stream sends keep-alive comments', async () => {
    const runId = await startRun({ input: 'long and slow' });
    const { comments } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.ok(comments.includes('keep-alive'), `comments: ${JSON.stringify(comments)}`);
  });
});

describe('eager start', () => {
  test('when the API shares a process with the worker, then runs start eagerly on it and complete', async () => {
    const store = new RunStore(new Client({ connection: environment.nativeConnection, namespace: 'default' }), stack.taskQueue, true);
    const run = await store.start({ input: 'eager', model: 'scripted', tools: [], maxSteps: 2 }, 'local');
    assert.equal(run.eagerlyStarted, true);
    const state = await environment.client.workflow.getHandle(run.runId).result();
    assert.equal(state.status, 'completed');
  });

  test('when the worker schedules the model step, then Temporal hands it the activity task in the same reply', async () => {
    const before = await serverCounter(environment, 'activity_eager_execution');
    const runId = await startRun({ input: 'eager activity' });
    const state = await environment.client.workflow.getHandle(runId).result();
    assert.equal(state.status, 'completed');
    const after = await serverCounter(environment, 'activity_eager_execution');
    assert.ok(after >= before + 1, `eager activity executions: ${before} before the run, ${after} after`);
  });
});

describe('resuming and joining late', () => {
  test('when a client reconnects with Last-Event-ID mid-text, then it gets exactly the rest', async () => {
    const runId = await startRun({ input: 'long resume test' });
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const first = await readSse(url, { until: (_event, all) => all.filter((e) => e.event === 'text.delta').length === 5 });
    const lastId = first.events.at(-1)!.id;
    assert.equal(first.events.at(-1)!.event, 'text.delta');
    const rest = await readSse(url, { headers: { 'Last-Event-ID': lastId } });
    assertIncreasingIds([first.events.at(-1)!, rest.events[0]!]);
    const all = [...first.events, ...rest.events];
    assertIncreasingIds(all);
    assert.equal(allText(all), longText);
    assert.equal(rest.events.at(-1)!.event, 'run.completed');
  });

  test('when a client resumes from any id after the run ended, then the rebuilt rest completes the text exactly', async () => {
    const runId = await startRun({ input: 'long finished resume' });
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const live = await readSse(url);
    const deltas = live.events.filter((event) => event.event === 'text.delta');
    for (const cut of [0, 1, Math.floor(deltas.length / 2), deltas.length - 1]) {
      const before = live.events.slice(0, live.events.indexOf(deltas[cut]!) + 1);
      const rest = await readSse(`${url}?lastEventId=${encodeURIComponent(deltas[cut]!.id)}`);
      const all = [...before, ...rest.events];
      assertIncreasingIds(all);
      assert.equal(allText(all), longText, `cut after delta ${cut}`);
      assert.deepEqual(all.map((event) => event.id).filter((id) => !/^\d+\.[1-9]\d*\.\d+$/.test(id)), live.events.map((event) => event.id).filter((id) => !/^\d+\.[1-9]\d*\.\d+$/.test(id)));
    }
    const fromEnd = await readSse(url, { headers: { 'Last-Event-ID': 'done' } });
    assert.deepEqual(fromEnd.events, [], 'nothing follows the terminal event');
  });

  test('when a subscriber arrives after the run ended, then it gets the whole run with the same ids', async () => {
    const runId = await startRun({ input: 'What is 2+3*4?' });
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const live = await readSse(url);
    const late = await readSse(url);
    assertIncreasingIds(late.events);
    // Estimates are live only: a late reader gets them only while the relay still holds the step.
    const structural = (events: ReceivedEvent[]) => events.filter((event) => event.event !== 'text.delta' && event.event !== 'usage.updated').map((event) => [event.id, event.event, event.data]);
    assert.deepEqual(structural(late.events), structural(live.events));
    // A late subscriber gets each step's text at once, under the id of the live stream's last delta.
    const lastDeltaIds = (events: ReceivedEvent[]) => [...new Map(events.filter((e) => e.event === 'text.delta').map((e) => [e.data.step, e.id])).values()];
    assert.deepEqual(lastDeltaIds(late.events), lastDeltaIds(live.events));
    assert.equal(allText(late.events), allText(live.events));
    assert.equal(late.events.at(-1)!.event, 'run.completed');
    assert.equal(late.events.at(-1)!.data.output, 'I used the calculator: 2+3*4 = 14.');
  });

  test('when a subscriber joins in the middle of a step, then it gets the text so far and then the rest live', async () => {
    const runId = await startRun({ input: 'long join midway' });
    const url = `${stack.url}/v1/runs/${runId}/events`;
    await readSse(url, { until: (_event, all) => all.filter((e) => e.event === 'text.delta').length === 10 });
    const joined = await readSse(url);
    assertIncreasingIds(joined.events);
    assert.equal(allText(joined.events), longText);
  });
});
