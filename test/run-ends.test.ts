import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { fetchExecutionHistory } from '../src/temporal/history';
import { agentTurnWorkflowType } from '../src/workflows/definitions';
import { assembleText, readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Runs that Temporal itself ends, from its UI or CLI: terminated, timed out, reset. Every stream
// ends with the right event, GET says the same, never a 5xx or a hang; a reset run is followed
// onto its new execution.

function reply(request: ChatRequest): Reply {
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const [scenario] = (request.messages[userIndex]?.content ?? '').split(' ');
  const results = request.messages.slice(userIndex + 1).filter((message) => message.role === 'tool');
  if (scenario === 'two-steps') {
    if (results.length === 0) return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"2*21"}' }], { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
    return { kind: 'stream', frames: textFrames(request.model, `The answer is ${results[0]!.content}. ${'Then more words. '.repeat(40)}`, { firstTokenDelayMs: 0, tokenDelayMs: 15 }) };
  }
  // Slow enough to be ended from outside while it streams.
  return { kind: 'stream', frames: textFrames(request.model, 'slow '.repeat(400), { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
}

let environment: TestWorkflowEnvironment;
let stack: TestStack;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, reply);
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

const untilText = (event: { event: string }) => event.event === 'text.delta';

describe('runs ended by Temporal', () => {
  test('when a run is terminated from outside, then its stream ends with run.failed (terminated, with the reason) and GET says the same', async () => {
    const { body } = await stack.post('/v1/runs', { input: 'slow run', tools: [] });
    const stream = readSse(`${stack.url}/v1/runs/${body.runId}/events`);
    await readSse(`${stack.url}/v1/runs/${body.runId}/events`, { until: untilText });
    await environment.client.workflow.getHandle(body.runId).terminate('stopped by an operator');
    const { events } = await stream;
    const end = events.at(-1)!;
    assert.equal(end.event, 'run.failed');
    assert.equal(end.data.error.code, 'terminated');
    assert.match(end.data.error.message, /stopped by an operator/);
    const run = await stack.get(`/v1/runs/${body.runId}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.status, 'failed');
    assert.deepEqual(run.body.error, end.data.error);
    const late = await readSse(`${stack.url}/v1/runs/${body.runId}/events`);
    assert.deepEqual(late.events.at(-1)?.data.error, end.data.error);
    const cancel = await stack.post(`/v1/runs/${body.runId}/cancel`, {});
    assert.equal(cancel.status, 409);
  });

  test('when a run times out in Temporal, then its stream ends with run.failed (timed_out)', async () => {
    const runId = `run_${randomUUID()}`;
    // As an operator's client may start one: with an execution timeout.
    await environment.client.workflow.start(agentTurnWorkflowType, {
      workflowId: runId,
      taskQueue: stack.taskQueue,
      workflowExecutionTimeout: '2 seconds',
      args: [{ input: 'slow run', model: 'scripted', tools: [], maxSteps: 3 }],
    });
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    assert.ok(events.some((event) => event.event === 'text.delta'));
    assert.equal(events.at(-1)?.event, 'run.failed');
    assert.equal(events.at(-1)?.data.error.code, 'timed_out');
    const run = await stack.get(`/v1/runs/${runId}`);
    assert.equal(run.body.status, 'failed');
    assert.equal(run.body.error.code, 'timed_out');
  });

  test('when a run is reset in the middle of a step, then its stream follows the new execution to the end', async () => {
    const { body } = await stack.post('/v1/runs', { input: 'two-steps please', tools: ['calculator'] });
    const { runId } = body;
    const stream = readSse(`${stack.url}/v1/runs/${runId}/events`);
    // Step 3 (the answer) is streaming: reset to the workflow task that scheduled the tool call.
    await readSse(`${stack.url}/v1/runs/${runId}/events`, { until: (event) => event.event === 'text.delta' && event.data.step === 3 });
    const before = await environment.client.workflow.getHandle(runId).describe();
    const { events: history } = await fetchExecutionHistory(environment.client, runId, before.runId);
    const toolScheduled = history.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'tool:calculator')!;
    const reset = await environment.client.workflowService.resetWorkflowExecution({
      namespace: environment.namespace ?? 'default',
      workflowExecution: { workflowId: runId, runId: before.runId },
      reason: 'reset from the UI',
      workflowTaskFinishEventId: toolScheduled.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId,
      requestId: randomUUID(),
    });
    assert.ok(reset.runId && reset.runId !== before.runId);
    const { events } = await stream;
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    const run = await stack.get(`/v1/runs/${runId}`);
    assert.equal(run.body.status, 'completed');
    assert.match(run.body.links.temporalUi, new RegExp(reset.runId!));
    const transcript = run.body.steps.filter((step: any) => step.kind === 'llm').map((step: any) => step.text ?? '').join('');
    assert.equal([...assembleText(events).values()].join(''), transcript);
  });
});
