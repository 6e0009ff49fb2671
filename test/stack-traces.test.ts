import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ToolRegistry } from '../src/activities/tools/registry';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { workflowBundle } from '../src/worker';
import { deleteFileTool } from './helpers/delete-file-tool';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// WORKFLOW_STACK_TRACES: off by default (src/workflows/stack-traces-off.ts), Temporal's Stack Trace
// query has no frames and no promise pays for recording them; on, it says where a run waits. Either
// bundle replays the other's histories.

let environment: TestWorkflowEnvironment;
let off: TestStack;
let on: TestStack;

before(async () => {
  environment = await startTemporal();
  off = await startTestStack(environment, toolScript, { tools: new ToolRegistry([deleteFileTool()]) });
  on = await startTestStack(environment, toolScript, { tools: new ToolRegistry([deleteFileTool()]), workflowStackTraces: true });
});

after(async () => {
  await off?.close();
  await on?.close();
  await environment?.teardown();
});

/** Starts a run that waits for approval, asks Temporal for its stack trace, then denies the call and reads the run to its end. */
async function stackTraceOfWaitingRun(stack: TestStack) {
  const started = await stack.post('/v1/runs', { input: toolCallScriptInput(['delete_file', { path: 'kept.txt' }]) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const runId: string = started.body.runId;
  await readSse(`${stack.url}/v1/runs/${runId}/events`, { until: (event) => event.event === 'approval.requested' });
  const handle = environment.client.workflow.getHandle(runId);
  const trace = await handle.query<string>('__stack_trace');
  assert.equal((await stack.post(`/v1/runs/${runId}/approvals/call_0`, { approve: false })).status, 200);
  const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
  assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
  return { runId, trace, history: await handle.fetchHistory() };
}

describe('workflow stack traces', () => {
  test('when off (the default), then the Stack Trace query has no frames; when on, it shows where the run waits; and either bundle replays the other run', async () => {
    const [quiet, traced] = await Promise.all([stackTraceOfWaitingRun(off), stackTraceOfWaitingRun(on)]);
    assert.doesNotMatch(quiet.trace, /\bat /, `no frames: ${quiet.trace}`);
    assert.match(traced.trace, /\bat .*workflows\//, `frames in the workflow code: ${traced.trace}`);

    const [offBundle, onBundle] = await Promise.all([workflowBundle(), workflowBundle({ stackTraces: true })]);
    assert.notEqual(offBundle, onBundle);
    await Worker.runReplayHistory({ workflowBundle: onBundle }, quiet.history, quiet.runId);
    await Worker.runReplayHistory({ workflowBundle: offBundle }, traced.history, traced.runId);
  });
});
