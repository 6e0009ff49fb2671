import assert from 'node:assert/strict';
import { deleteFileTool } from './helpers/delete-file-tool';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Tools that need a human: the run pauses durably, the API decides through a Workflow Update.

const executed: string[] = [];
const deleteFile = deleteFileTool(executed);

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let quick: TestStack;

before(async () => {
  environment = await startTemporal();
  const tools = () => new ToolRegistry([deleteFile, calculatorTool]);
  const limits = loadConfig({}).limits;
  stack = await startTestStack(environment, toolScript, { tools: tools(), stream: { quietRequeryMs: 200 } });
  quick = await startTestStack(environment, toolScript, { tools: tools(), limits: { ...limits, approvalTimeoutMs: 1500 } });
});

after(async () => {
  await stack?.close();
  await quick?.close();
  await environment?.teardown();
});

/** Reads the run's stream until `until`, meanwhile doing `act` once when approval is requested. */
async function watch(target: TestStack, runId: string, act: (events: ReceivedEvent[]) => Promise<void>) {
  let acting: Promise<void> | undefined;
  const { events } = await readSse(`${target.url}/v1/runs/${runId}/events`, {
    until: (event, all) => {
      if (event.event === 'approval.requested' && all.filter((e) => e.event === 'approval.requested').length === 1) acting ??= act(all);
      return false;
    },
  });
  await acting;
  return events;
}

describe('human approval', () => {
  test('when a call needs approval, then the run waits, lists it, and runs it once approved; a second decision is refused', async () => {
    const started = await stack.post('/v1/runs', {
      input: toolCallScriptInput(['delete_file', { path: 'a.txt' }], ['calculator', { expression: '2+2' }], ['delete_file', { path: 'a2.txt' }]),
    });
    const runId = started.body.runId;
    let listed: any;
    let second: any;
    const events = await watch(stack, runId, async () => {
      listed = (await stack.get(`/v1/runs/${runId}`)).body;
      assert.deepEqual(executed.includes('a.txt'), false, 'nothing ran before the decision');
      const decided = await stack.post(`/v1/runs/${runId}/approvals/call_0`, { approve: true, reason: 'fine' });
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
      assert.equal(decided.body.decision, 'approved');
      // call_2 still waits, so the run is still waiting: call_0 is simply no longer pending.
      second = await stack.post(`/v1/runs/${runId}/approvals/call_0`, { approve: false });
      assert.equal((await stack.post(`/v1/runs/${runId}/approvals/call_2`, { approve: true })).status, 200);
    });
    assert.equal(listed.pendingApprovals.length, 2);
    assert.equal(listed.pendingApprovals[0].callId, 'call_0');
    assert.equal(listed.pendingApprovals[0].name, 'delete_file');
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'approval_not_pending');
    const names = events.map((event) => event.event);
    assert.ok(names.indexOf('approval.requested') < names.indexOf('approval.decided'));
    assert.ok(names.indexOf('approval.decided') < names.indexOf('tool.started'), 'tools start after the decision');
    assert.equal(events.find((event) => event.event === 'approval.decided')!.data.reason, 'fine');
    assert.equal(events.at(-1)!.data.output, 'results: deleted a.txt | 4 | deleted a2.txt');
    assert.deepEqual(executed.filter((path) => path === 'a.txt'), ['a.txt']);
  });

  test('when a call is denied, then it never runs and the model reads the denial', async () => {
    const started = await stack.post('/v1/runs', { input: toolCallScriptInput(['delete_file', { path: 'b.txt' }]) });
    const runId = started.body.runId;
    const events = await watch(stack, runId, async () => {
      const unknown = await stack.post(`/v1/runs/${runId}/approvals/call_nope`, { approve: true });
      assert.equal(unknown.status, 409);
      const bad = await stack.post(`/v1/runs/${runId}/approvals/call_0`, { approve: 'yes' });
      assert.equal(bad.status, 400);
      const denied = await stack.post(`/v1/runs/${runId}/approvals/call_0`, { approve: false, reason: 'not that file' });
      assert.equal(denied.body.decision, 'denied');
    });
    assert.ok(!executed.includes('b.txt'));
    assert.equal(events.at(-1)!.data.output, 'results: Error: a reviewer denied this call: not that file');
  });

  test('when nobody decides before the deadline, then the call counts as not approved and the run goes on', async () => {
    const started = await quick.post('/v1/runs', { input: toolCallScriptInput(['delete_file', { path: 'c.txt' }]) });
    const { events } = await readSse(`${quick.url}/v1/runs/${started.body.runId}/events`);
    assert.equal(events.find((event) => event.event === 'approval.decided')!.data.decision, 'timed_out');
    assert.ok(!executed.includes('c.txt'));
    assert.equal(events.at(-1)!.data.output, 'results: Error: no reviewer approved this call in time');
    const history = await environment.client.workflow.getHandle(started.body.runId).fetchHistory();
    assert.ok(history.events!.some((event) => event.timerStartedEventAttributes), 'the wait is a durable timer');
  });

  test('when the run has ended, then a decision is refused with 409', async () => {
    const started = await stack.post('/v1/runs', { input: toolCallScriptInput(['calculator', { expression: '1+1' }]) });
    await environment.client.workflow.getHandle(started.body.runId).result();
    const response = await stack.post(`/v1/runs/${started.body.runId}/approvals/call_0`, { approve: true });
    assert.equal(response.status, 409);
    assert.equal(response.body.error.code, 'run_not_running');
  });
});
