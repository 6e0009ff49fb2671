import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoReply } from '../src/demo-model/demo-script';
import { PacedWorkflowTaskSlots } from '../src/temporal/workflow-task-slots';
import type { SlotReserveContext } from '@temporalio/worker';
import { assembleText, readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Workflow task slots (WORKER_MAX_WORKFLOW_TASKS): pollers may hold at most `limit` slots for
// tasks, so a burst of new runs waits in Temporal's task queue instead of landing on the worker's
// event loop at once; an eager start still gets a slot while idle pollers hold theirs.

const context: SlotReserveContext = { slotType: 'workflow', taskQueue: 'q', workerIdentity: 'w', workerBuildId: '', isSticky: false };
const sticky: SlotReserveContext = { ...context, isSticky: true };
const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  // Two turns of the microtask queue and one of the event loop: a resolved promise has settled by then.
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};
const slotInfo = { type: 'workflow' as const, workflowType: 'agentTurn', isSticky: false };

describe('the slot supplier', () => {
  test('task-queue polls wait once `limit` slots are reserved or in use; a released slot lets one poll again', async () => {
    const slots = new PacedWorkflowTaskSlots(2);
    const first = await slots.reserveSlot(context, new AbortController().signal);
    await slots.reserveSlot(context, new AbortController().signal);
    const third = slots.reserveSlot(context, new AbortController().signal);
    assert.equal(await settled(third), false, 'a third poll waits');
    slots.markSlotUsed({ permit: first, slotInfo });
    assert.equal(await settled(third), false, 'a slot in use is still taken');
    slots.releaseSlot({ permit: first, slotInfo });
    assert.equal(await settled(third), true, 'the released slot goes to the waiting poll');
    assert.deepEqual(slots.counts.fresh, { inUse: 0, polling: 2, eager: 0 });
  });

  test('the sticky queue (runs already going on) is not paced by new runs, only by the total', async () => {
    const slots = new PacedWorkflowTaskSlots(1, 4);
    const first = await slots.reserveSlot(context, new AbortController().signal);
    slots.markSlotUsed({ permit: first, slotInfo });
    assert.equal(await settled(slots.reserveSlot(context, new AbortController().signal)), false, 'one new run at a time');
    const stickyPolls = [0, 1, 2].map(() => slots.reserveSlot(sticky, new AbortController().signal));
    assert.equal(await settled(Promise.all(stickyPolls)), true, 'a cached run\'s next task is not stuck behind new runs');
    // 1 in use + 3 sticky polls = 4 = the total (the waiting new-run poll holds nothing): no more.
    assert.equal(await settled(slots.reserveSlot(sticky, new AbortController().signal)), false, 'the total caps everything');
  });

  test('an eager task gets a slot while idle pollers hold theirs, up to `limit` in use', async () => {
    const slots = new PacedWorkflowTaskSlots(2);
    await slots.reserveSlot(context, new AbortController().signal);
    await slots.reserveSlot(context, new AbortController().signal);
    const eager = slots.tryReserveSlot(context);
    assert.ok(eager, 'idle pollers do not keep a new run from starting eagerly');
    slots.markSlotUsed({ permit: eager, slotInfo });
    const second = slots.tryReserveSlot(context);
    assert.ok(second);
    assert.equal(slots.tryReserveSlot(context), null, 'two tasks in use or promised: no third');
    // Reserved but never used (Temporal did not hand the task back eagerly): the slot comes back.
    slots.releaseSlot({ permit: second });
    assert.ok(slots.tryReserveSlot(context));
    // Releasing twice does not free two slots.
    slots.releaseSlot({ permit: eager, slotInfo });
    slots.releaseSlot({ permit: eager, slotInfo });
    assert.deepEqual(slots.counts.fresh, { inUse: 0, polling: 2, eager: 1 });
  });

  test('a waiting reservation that the SDK aborts rejects with the signal\'s reason and holds nothing', async () => {
    const slots = new PacedWorkflowTaskSlots(1);
    await slots.reserveSlot(context, new AbortController().signal);
    const abort = new AbortController();
    const waiting = slots.reserveSlot(context, abort.signal);
    abort.abort(new Error('poller stopped'));
    await assert.rejects(waiting, (error: Error) => error === abort.signal.reason);
    assert.deepEqual(slots.counts.fresh, { inUse: 0, polling: 1, eager: 0 });
  });

  test('a limit that is not a positive integer is refused', () => {
    assert.throws(() => new PacedWorkflowTaskSlots(0), RangeError);
    assert.throws(() => new PacedWorkflowTaskSlots(1.5), RangeError);
  });
});

describe('a worker with one workflow task slot', () => {
  let temporal: TestTemporal;
  let stack: TestStack;
  const slots = new PacedWorkflowTaskSlots(1);

  before(async () => {
    temporal = await startTemporal();
    stack = await startTestStack(temporal, (request) => demoReply(request, { firstTokenDelayMs: 5, tokenDelayMs: 2 }), { maxWorkflowTasks: slots });
  });

  after(async () => {
    await stack?.close();
    await temporal?.teardown();
  });

  test('an idle worker starts a run eagerly', async () => {
    const before = slots.eagerGranted;
    const started = await stack.post('/v1/runs', { input: 'hello', tools: [] });
    assert.equal(started.status, 202);
    const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(events.at(-1)!.event, 'run.completed');
    assert.ok(slots.eagerGranted > before, 'the first workflow task came back in the start\'s reply');
  });

  test('a burst of 30 runs with tool calls takes its workflow tasks a few at a time, and every run completes whole', async () => {
    const runs = await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const input = `what is ${index} * 7`;
        const started = await stack.post('/v1/runs', { input, tools: ['calculator'] });
        assert.equal(started.status, 202);
        return { index, runId: started.body.runId as string };
      }),
    );
    const streams = await Promise.all(runs.map(({ runId }) => readSse(`${stack.url}/v1/runs/${runId}/events`, { signal: AbortSignal.timeout(120_000) })));
    streams.forEach(({ events }, position) => {
      const { index } = runs[position]!;
      const names = events.map((event) => event.event);
      assert.equal(names.at(-1), 'run.completed', names.join(','));
      assert.equal(names.filter((name) => name === 'tool.completed').length, 1);
      assert.match([...assembleText(events).values()].join(''), new RegExp(`${index} \\* 7 = ${index * 7}\\b`));
    });
    // New runs' tasks with one slot: one from a poll and one eager start can land at the same
    // moment; the SDK's own slots would let its task-queue pollers take them as they come.
    assert.ok(slots.peakInUse <= 2, `at most 2 new runs' workflow tasks at once, saw ${slots.peakInUse}`);
    assert.equal(slots.counts.fresh.inUse, 0);
  });
});
