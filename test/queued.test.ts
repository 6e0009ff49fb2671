import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import { createAgentWorker } from '../src/worker';
import { assembleText, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Admission: a run that no worker has taken yet (all busy, or none polling) waits in Temporal's
// task queue, and the API says so: GET reports `queued`, the stream sends `run.queued`, and the
// run goes on, whole, once a worker takes it.

const answer = 'taken at last';
let temporal: TestTemporal;
let stack: TestStack;

before(async () => {
  temporal = await startTemporal();
  stack = await startTestStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 0, tokenDelayMs: 5 }) }));
  // No worker polls the stack's task queue any more.
  stack.worker.shutdown();
  const deadline = Date.now() + 30_000;
  while (stack.worker.getState() !== 'STOPPED' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stack.worker.getState(), 'STOPPED');
});

after(async () => {
  await stack?.close();
  await temporal?.teardown();
});

test('a run no worker has taken is queued (GET and a run.queued event), and streams whole once a worker takes it', async () => {
  const started = await stack.post('/v1/runs', { input: 'wait for a worker', tools: [] });
  assert.equal(started.status, 202);
  const { runId } = started.body;
  // Queued once it has waited a moment (a free worker takes a task in milliseconds): read until then.
  let state = await stack.get(`/v1/runs/${runId}`);
  for (const deadline = Date.now() + 5000; state.body.status !== 'queued' && Date.now() < deadline; ) {
    assert.equal(state.body.status, 'running');
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await stack.get(`/v1/runs/${runId}`);
  }
  assert.equal(state.status, 200);
  assert.equal(state.body.status, 'queued');
  assert.equal(state.body.input, 'wait for a worker');
  assert.equal(state.body.stepCount, 0);
  // An approval cannot be pending on a run that has not started.
  const decision = await stack.post(`/v1/runs/${runId}/approvals/call_x`, { approve: true });
  assert.equal(decision.status, 409);

  let sawQueued: () => void = () => undefined;
  const queued = new Promise<void>((resolve) => (sawQueued = resolve));
  const stream = readSse(`${stack.url}/v1/runs/${runId}/events`, {
    signal: AbortSignal.timeout(60_000),
    until: (event: ReceivedEvent) => {
      if (event.event === 'run.queued') sawQueued();
      return /^run\.(completed|failed|cancelled)$/.test(event.event);
    },
  });
  await queued;
  // A worker comes: the run starts and streams.
  const config = loadConfig({});
  const worker = await createAgentWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace ?? 'default',
    taskQueue: stack.taskQueue,
    relay: stack.relay,
    model: { ...config.model, baseURL: stack.model.baseURL, name: 'scripted' },
    tools: new ToolRegistry(defaultTools(config.tools)),
  });
  const running = worker.run();
  try {
    const { events } = await stream;
    const names = events.map((event) => event.event);
    assert.deepEqual(names.slice(0, 3), ['run.started', 'run.queued', 'step.started']);
    assert.equal(names.filter((name) => name === 'run.queued').length, 1, 'said once');
    // run.queued names no new place in the run: its id is the client's position (after run.started).
    assert.equal(events[1]!.id, events[0]!.id);
    assert.equal(events.at(-1)!.event, 'run.completed');
    assert.equal([...assembleText(events).values()].join(''), answer);
    assert.equal((await stack.get(`/v1/runs/${runId}`)).body.status, 'completed');
  } finally {
    worker.shutdown();
    await running;
  }
  // No worker polls any more: a completed run is still read whole, GET and stream, from its
  // result (a query on a closed run would need a worker to replay it).
  const read = await Promise.race([stack.get(`/v1/runs/${runId}`), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('GET waited for a worker')), 10_000))]);
  assert.equal(read.body.status, 'completed');
  assert.equal(read.body.output, answer);
  assert.deepEqual(read.body.steps.map((step: { kind: string; text?: string }) => [step.kind, step.text]), [['llm', answer]]);
  const again = await readSse(`${stack.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(again.events.at(-1)!.event, 'run.completed');
  assert.equal([...assembleText(again.events).values()].join(''), answer);
});

test('a run whose first step waits for a busy worker (WORKER_MAX_ACTIVITIES) is queued, then streams whole', async () => {
  // One step at a time on this worker: the second run's step waits in Temporal's task queue
  // until the first run's step is done.
  const slow = Array.from({ length: 40 }, (_, index) => `s${index}`).join(' ');
  const busy = await startTestStack(
    temporal,
    (request) => {
      const hold = request.messages.some((message) => message.content === 'hold the worker');
      return { kind: 'stream', frames: textFrames(request.model, hold ? slow : answer, { firstTokenDelayMs: 0, tokenDelayMs: hold ? 50 : 5 }) };
    },
    { maxConcurrentActivities: 1 },
  );
  try {
    const first = await busy.post('/v1/runs', { input: 'hold the worker', tools: [] });
    const firstStream = readSse(`${busy.url}/v1/runs/${first.body.runId}/events`, { signal: AbortSignal.timeout(60_000), until: (event) => event.event === 'run.completed' });
    // The first run's step holds the only slot once its model has answered.
    for (const deadline = Date.now() + 10_000; busy.model.requests.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(busy.model.requests.length, 1);

    const second = await busy.post('/v1/runs', { input: 'wait for a slot', tools: [] });
    const { runId } = second.body;
    const stream = readSse(`${busy.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(60_000), until: (event) => /^run\.(completed|failed|cancelled)$/.test(event.event) });
    let state = await busy.get(`/v1/runs/${runId}`);
    for (const deadline = Date.now() + 5000; state.body.status !== 'queued' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = await busy.get(`/v1/runs/${runId}`);
    }
    assert.equal(state.body.status, 'queued', 'its step waits for the busy worker');
    assert.equal(state.body.stepCount, 0);
    assert.deepEqual(state.body.steps, []);

    const { events } = await stream;
    const names = events.map((event) => event.event);
    assert.equal(names.filter((name) => name === 'run.queued').length, 1);
    assert.ok(names.indexOf('run.queued') < names.indexOf('step.started'), names.join(','));
    assert.equal(names.at(-1), 'run.completed');
    assert.equal([...assembleText(events).values()].join(''), answer);
    // The first run streamed on, whole, and its step was done before the second's began.
    const firstEvents = (await firstStream).events;
    assert.equal([...assembleText(firstEvents).values()].join(''), slow);
    assert.equal(busy.model.requests.length, 2);
    assert.ok(busy.model.requests[1]!.receivedAt >= busy.model.requests[0]!.chunkTimes.at(-1)!, 'the second step began after the first ended');
  } finally {
    await busy.close();
  }
});
