import assert from 'node:assert/strict';
import { deleteFileTool } from './helpers/delete-file-tool';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { runHistories } from './helpers/history';
import { fetchExecutionHistory } from '../src/temporal/history';
import { assembleText, assertIncreasingIds, readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';
import { tenantSearchAttribute } from '../src/shared/search-attributes';
import { Metrics } from '../src/telemetry/metrics';
import { samplesOf, total } from './helpers/metrics';

// A run continues as new whenever its history reaches the limits; here the limits are tiny, so it
// does so at every step boundary (and at once in an approval wait). Same run id, same event ids:
// live, resumed and late streams, approvals and cancel all work across executions.

const slow = { firstTokenDelayMs: 0, tokenDelayMs: 4 };
const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };

function reply(request: ChatRequest): Reply {
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const [scenario, countText] = (request.messages[userIndex]?.content ?? '').split(' ');
  const results = request.messages.slice(userIndex + 1).filter((message) => message.role === 'tool');
  const step = results.length + 1;
  if (scenario === 'steps') {
    const text = `Step ${step} says ${'word '.repeat(30)}`;
    if (step >= Number(countText)) return { kind: 'stream', frames: textFrames(request.model, `${text}and ends.`, slow) };
    return { kind: 'stream', frames: [...textFrames(request.model, text, slow).slice(0, -1), ...toolCallFrames(request.model, [{ id: `call_${step}`, name: 'calculator', arguments: JSON.stringify({ expression: `${step}*2` }) }], fast)] };
  }
  if (scenario === 'approve') {
    if (results.length > 0) return { kind: 'stream', frames: textFrames(request.model, `Results: ${results.map((message) => message.content).join(' | ')}`, fast) };
    return {
      kind: 'stream',
      frames: toolCallFrames(request.model, [{ id: 'call_delete', name: 'delete_file', arguments: '{"path":"a.txt"}' }, { id: 'call_calc', name: 'calculator', arguments: '{"expression":"6*7"}' }], fast),
    };
  }
  if (scenario === 'forever') {
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: `call_${step}`, name: 'calculator', arguments: '{"expression":"1+1"}' }], fast) };
  }
  return { kind: 'stream', frames: textFrames(request.model, 'ok', fast) };
}

const deleted: string[] = [];
const deleteFile = deleteFileTool(deleted);

let environment: TestWorkflowEnvironment;
let stack: TestStack;
// This stack's registry: a run counted once over its executions, each execution's history observed.
const metrics = new Metrics();
const firstExecution = (body: any) => decodeURIComponent(body.links.temporalUi.split('/').at(-2));

before(async () => {
  environment = await startTemporal();
  const config = loadConfig({});
  stack = await startTestStack(environment, reply, {
    tools: new ToolRegistry([...defaultTools(config.tools), deleteFile]),
    // Tiny limits: the run continues as new at every chance it gets.
    limits: { ...config.limits, maxSteps: 100, history: { events: 1, bytes: 1 } },
    metrics,
  });
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

describe('continue-as-new', () => {
  test('when a run continues as new between streaming steps, then live, resumed and late clients each assemble the transcript', async () => {
    const started = await stack.post('/v1/runs', { input: 'steps 6', tools: ['calculator'], maxSteps: 10 });
    assert.equal(started.status, 202);
    const { runId } = started.body;
    const url = `${stack.url}/v1/runs/${runId}/events`;
    const livePromise = readSse(url);
    // A client that leaves in the middle of step 5's text and comes back.
    const first = await readSse(url, { until: (event) => event.event === 'text.delta' && event.data.step === 5 && event.data.delta.includes('word') });
    const rest = await readSse(url, { headers: { 'last-event-id': first.events.at(-1)!.id } });
    const live = await livePromise;
    const late = await readSse(url);
    for (const events of [live.events, [...first.events, ...rest.events], late.events]) {
      assertIncreasingIds(events);
      assert.equal(events.at(-1)?.event, 'run.completed');
    }
    const run = await stack.get(`/v1/runs/${runId}`);
    assert.equal(run.body.status, 'completed');
    assert.equal(run.body.stepCount, 11);
    const transcript = run.body.steps.filter((step: any) => step.kind === 'llm').map((step: any) => step.text).join('');
    assert.match(transcript, /Step 6 says/);
    for (const events of [live.events, [...first.events, ...rest.events], late.events]) assert.equal([...assembleText(events).values()].join(''), transcript);
    const histories = await runHistories(environment.client, runId, firstExecution(started.body));
    // One execution per model step: every boundary was a continue-as-new.
    assert.equal(histories.length, 6);
    // In the metrics: one run started and completed; five executions went on as new, each history
    // observed as its last workflow task began (the events that task's commands made follow).
    const samples = await samplesOf(metrics);
    assert.equal(total(samples, 'durable_agents_runs_started_total'), 1);
    assert.equal(total(samples, 'durable_agents_runs_ended_total', { outcome: 'completed' }), 1);
    assert.equal(total(samples, 'durable_agents_run_history_events_count', { outcome: 'continued' }), 5);
    const lastTaskStarted = await Promise.all(
      histories.map(async (history) => {
        const { events } = await fetchExecutionHistory(environment.client, runId, history.executionId);
        return Math.max(...events.filter((event) => event.workflowTaskStartedEventAttributes).map((event) => Number(event.eventId)));
      }),
    );
    assert.equal(total(samples, 'durable_agents_run_history_events_sum', { outcome: 'continued' }), lastTaskStarted.slice(0, 5).reduce((sum, events) => sum + events, 0));
    assert.equal(total(samples, 'durable_agents_run_history_events_sum', { outcome: 'completed' }), lastTaskStarted[5]);
    assert.notEqual(run.body.links.temporalUi, started.body.links.temporalUi, 'the UI link follows the latest execution');
    // The owner (memo) goes on with the run: with keys on, its tenant still finds it.
    const description = await environment.client.workflow.getHandle(runId).describe();
    assert.equal(description.memo?.tenant, 'local');
    // So does its tenant search attribute: the per-tenant count of running runs still sees it.
    assert.equal(description.typedSearchAttributes.get(tenantSearchAttribute), 'local');
  });

  test('when a run continues as new in an approval wait, then the wait goes on in the new execution and its decision is applied', async () => {
    const started = await stack.post('/v1/runs', { input: 'approve please', tools: ['delete_file', 'calculator'] });
    const { runId } = started.body;
    const events = readSse(`${stack.url}/v1/runs/${runId}/events`);
    let pending: any;
    for (let i = 0; i < 100 && !pending; i++) {
      const run = await stack.get(`/v1/runs/${runId}`);
      pending = run.body.pendingApprovals?.[0];
      if (!pending) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(pending?.callId, 'call_delete');
    // The wait moved to a new execution before anyone decided.
    const before = await runHistories(environment.client, runId, firstExecution(started.body));
    assert.ok(before.length >= 2, `executions: ${before.length}`);
    const decided = await stack.post(`/v1/runs/${runId}/approvals/call_delete`, { approve: true });
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    const { events: received } = await events;
    assert.equal(received.at(-1)?.event, 'run.completed');
    assert.equal(received.filter((event) => event.event === 'approval.requested').length, 1);
    assert.equal(received.find((event) => event.event === 'approval.decided')?.data.decision, 'approved');
    assert.match(received.at(-1)!.data.output, /deleted a\.txt \| 42/);
    assert.deepEqual(deleted, ['a.txt']);
    const again = await stack.post(`/v1/runs/${runId}/approvals/call_delete`, { approve: false });
    assert.equal(again.status, 409);
  });

  test('when a run is cancelled while it continues as new at every step, then it ends cancelled and stops calling the model', async () => {
    for (const delayMs of [150, 400, 900]) {
      const started = await stack.post('/v1/runs', { input: `forever ${delayMs}`, tools: ['calculator'], maxSteps: 100 });
      const { runId } = started.body;
      const stream = readSse(`${stack.url}/v1/runs/${runId}/events`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const cancelled = await stack.post(`/v1/runs/${runId}/cancel`, {});
      assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
      const { events } = await stream;
      assert.equal(events.at(-1)?.event, 'run.cancelled', `cancel after ${delayMs} ms`);
      const run = await stack.get(`/v1/runs/${runId}`);
      assert.equal(run.body.status, 'cancelled');
      const requests = stack.model.requests.filter((request) => request.body.messages.some((message) => message.content === `forever ${delayMs}`)).length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const later = stack.model.requests.filter((request) => request.body.messages.some((message) => message.content === `forever ${delayMs}`)).length;
      assert.equal(later, requests, 'no model call after the run ended');
      assert.ok(requests < 100);
    }
  });
});
