import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { ToolInputError, ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { waitTool } from '../src/activities/tools/wait-tool';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';

// Tool calls as Temporal activities: parallel, bounded, retried, reported to the model.

interface Span {
  key: string;
  start: number;
  end: number;
}
const spans: Span[] = [];
const attempts = new Map<string, number>();

const sleepy: ToolDefinition<{ ms: number; key: string }> = {
  name: 'sleepy',
  description: 'sleeps ms milliseconds and records when it ran',
  parameters: z.object({ ms: z.number().int().min(0).max(10_000), key: z.string() }),
  idempotent: true,
  async run({ ms, key }, context) {
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    spans.push({ key, start, end: Date.now() });
    context.progress({ message: 'slept' });
    return `${key} slept ${ms} ms`;
  },
};

const flaky: ToolDefinition<{ key: string; failures: number }> = {
  name: 'flaky',
  description: 'fails the first `failures` attempts, then succeeds and says what the last attempt reported',
  parameters: z.object({ key: z.string(), failures: z.number().int().min(0) }),
  idempotent: true,
  retry: { maximumAttempts: 3, initialIntervalMs: 100, maximumIntervalMs: 100 },
  async run({ key, failures }, context) {
    attempts.set(key, context.attempt);
    context.progress({ message: `attempt ${context.attempt} started`, fraction: context.attempt / 10 });
    if (context.attempt <= failures) throw new Error(`${key}: transient failure on attempt ${context.attempt}`);
    return `${key} ok on attempt ${context.attempt}; last progress before: ${context.lastProgress?.message ?? 'none'}`;
  },
};

const picky: ToolDefinition<{ n: number }> = {
  name: 'picky',
  description: 'wants an integer n',
  parameters: z.object({ n: z.number().int() }),
  idempotent: true,
  run({ n }, context) {
    attempts.set(`picky-${n}`, context.attempt);
    if (n < 0) throw new ToolInputError('n must not be negative');
    return String(n * 2);
  },
};

const once: ToolDefinition<{ key: string }> = {
  name: 'once',
  description: 'not idempotent: must not run twice',
  parameters: z.object({ key: z.string() }),
  idempotent: false,
  run({ key }, context) {
    attempts.set(key, context.attempt);
    throw new Error('side effect failed');
  },
};

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let bounded: TestStack;

before(async () => {
  environment = await startTemporal();
  const tools = () => new ToolRegistry([sleepy, flaky, picky, once, waitTool, calculatorTool]);
  stack = await startTestStack(environment, toolScript, { tools: tools() });
  bounded = await startTestStack(environment, toolScript, { tools: tools(), toolConcurrency: 2 });
});

after(async () => {
  await stack?.close();
  await bounded?.close();
  await environment?.teardown();
});

async function run(target: TestStack, input: string) {
  const started = await target.post('/v1/runs', { input });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { events } = await readSse(`${target.url}/v1/runs/${started.body.runId}/events`);
  return { runId: started.body.runId as string, events, terminal: events.at(-1)! };
}

const maxOverlap = (list: Span[]) =>
  Math.max(...list.map((span) => list.filter((other) => other.start < span.end && span.start < other.end).length));

describe('parallel tool calls', () => {
  test('when the model asks for five tools at once, then all five run at the same time as separate activities', async () => {
    const calls = [0, 1, 2, 3, 4].map((i) => ['sleepy', { ms: 700, key: `p${i}` }] as [string, unknown]);
    const { runId, events, terminal } = await run(stack, toolCallScriptInput(...calls));
    const mine = spans.filter((span) => span.key.startsWith('p'));
    assert.equal(mine.length, 5);
    assert.equal(maxOverlap(mine), 5, 'every call overlapped every other');
    assert.equal(terminal.event, 'run.completed');
    assert.equal(terminal.data.output, `results: ${[0, 1, 2, 3, 4].map((i) => `p${i} slept 700 ms`).join(' | ')}`, 'results go back in call order');
    assert.equal(events.filter((event) => event.event === 'tool.progress').length, 5);
    const history = await environment.client.workflow.getHandle(runId).fetchHistory();
    const types = history.events!.flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.deepEqual(types, ['llmStep', 'tool:sleepy', 'tool:sleepy', 'tool:sleepy', 'tool:sleepy', 'tool:sleepy', 'llmStep']);
  });

  test('when the concurrency bound is 2, then no more than two calls run at once and all complete', async () => {
    const calls = [0, 1, 2, 3, 4].map((i) => ['sleepy', { ms: 300, key: `b${i}` }] as [string, unknown]);
    const { terminal } = await run(bounded, toolCallScriptInput(...calls));
    const mine = spans.filter((span) => span.key.startsWith('b'));
    assert.equal(mine.length, 5);
    assert.equal(maxOverlap(mine), 2);
    assert.equal(terminal.event, 'run.completed');
  });

  test('when the model gets the tool results, then it is sent the turn rebuilt from the steps, which the result does not store again', async () => {
    const input = toolCallScriptInput(['calculator', { expression: '6*7' }], ['teleport', {}]);
    const { runId, terminal } = await run(stack, input);
    assert.equal(terminal.event, 'run.completed');
    const second = stack.model.requests.filter((request) => request.body.messages[0]?.content === input).at(-1)!.body.messages;
    const assistant = second[1] as { role: string; tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> };
    assert.deepEqual(second.map((message) => message.role), ['user', 'assistant', 'tool', 'tool']);
    assert.deepEqual(assistant.tool_calls.map((call) => [call.type, call.function.name, JSON.parse(call.function.arguments)]), [['function', 'calculator', { expression: '6*7' }], ['function', 'teleport', {}]]);
    assert.deepEqual(second.slice(2), [
      { role: 'tool', tool_call_id: assistant.tool_calls[0]!.id, content: '42' },
      { role: 'tool', tool_call_id: assistant.tool_calls[1]!.id, content: 'Error: unknown tool "teleport"; tools: sleepy, flaky, picky, once, wait, calculator' },
    ]);
    const result = await environment.client.workflow.getHandle(runId).result();
    assert.equal('messages' in result, false, 'the result keeps steps and output, not a second copy of the conversation');
    assert.equal(result.output, terminal.data.output);
  });

  test('when results complete out of order, then tool.completed events arrive in completion order', async () => {
    const { events } = await run(stack, toolCallScriptInput(['sleepy', { ms: 600, key: 'slow' }], ['sleepy', { ms: 50, key: 'fast' }]));
    const completed = events.filter((event) => event.event === 'tool.completed').map((event) => event.data.result);
    assert.deepEqual(completed, ['fast slept 50 ms', 'slow slept 600 ms']);
  });
});

describe('failures', () => {
  test('when a tool fails then succeeds on retry, then the result is delivered and the retry read the last progress', async () => {
    const { events, terminal } = await run(stack, toolCallScriptInput(['flaky', { key: 'retry-once', failures: 1 }]));
    assert.equal(attempts.get('retry-once'), 2);
    const completed = events.find((event) => event.event === 'tool.completed')!;
    assert.equal(completed.data.attempts, 2);
    assert.match(completed.data.result, /ok on attempt 2; last progress before: attempt 1 started/);
    assert.equal(terminal.event, 'run.completed');
  });

  test('when a tool keeps failing, then after its retries the model gets the error and the run still completes', async () => {
    const { events, terminal } = await run(stack, toolCallScriptInput(['flaky', { key: 'always', failures: 99 }], ['sleepy', { ms: 10, key: 'neighbour' }]));
    assert.equal(attempts.get('always'), 3);
    const failed = events.find((event) => event.event === 'tool.failed')!;
    assert.match(failed.data.error, /transient failure on attempt 3/);
    assert.equal(failed.data.attempts, 3);
    assert.equal(terminal.event, 'run.completed');
    assert.match(terminal.data.output, /Error: .*transient failure on attempt 3 \| neighbour slept 10 ms/, 'one failure cancels no other call');
  });

  test('when arguments fail the schema or the tool rejects its input, then the model is told at once, without retries', async () => {
    const { events } = await run(stack, toolCallScriptInput(['picky', { n: 1.5 }], ['picky', { n: -1 }]));
    const errors = events.filter((event) => event.event === 'tool.failed').map((event) => event.data.error).sort();
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /invalid arguments: n: /);
    assert.match(errors[1]!, /n must not be negative/);
    assert.equal(attempts.get('picky--1'), 1);
  });

  test('when a tool is not idempotent, then it gets one attempt', async () => {
    const { events } = await run(stack, toolCallScriptInput(['once', { key: 'side-effect' }]));
    assert.equal(attempts.get('side-effect'), 1);
    assert.equal(events.find((event) => event.event === 'tool.failed')!.data.attempts, 1);
  });

  test('when the model names a tool that does not exist, then it gets an error result, not a crash', async () => {
    const { events, terminal } = await run(stack, toolCallScriptInput(['teleport', {}], ['calculator', { expression: '1+1' }]));
    assert.match(events.find((event) => event.event === 'tool.failed')!.data.error, /unknown tool "teleport"/);
    assert.equal(terminal.data.output, 'results: Error: unknown tool "teleport"; tools: sleepy, flaky, picky, once, wait, calculator | 2');
  });
});

describe('progress and cancellation', () => {
  test('when a long tool runs, then its progress streams live and cancelling the run stops it at once', async () => {
    const started = await stack.post('/v1/runs', { input: toolCallScriptInput(['wait', { seconds: 60 }]) });
    const runId = started.body.runId;
    let cancelled: Promise<unknown> | undefined;
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`, {
      until: (event, all) => {
        if (event.event === 'tool.progress' && all.filter((e) => e.event === 'tool.progress').length === 2) {
          cancelled ??= stack.post(`/v1/runs/${runId}/cancel`, {});
        }
        return false;
      },
    });
    await cancelled;
    const progress = events.filter((event) => event.event === 'tool.progress');
    assert.ok(progress.length >= 2);
    assert.match(progress[0]!.data.progress.message, /waited 1 of 60 s/);
    assert.equal(events.at(-1)!.event, 'run.cancelled');
    const description = await environment.client.workflow.getHandle(runId).describe();
    assert.equal(description.status.name, 'CANCELLED');
    assert.equal(description.raw.pendingActivities?.length ?? 0, 0, 'no activity left running');
    const history = await environment.client.workflow.getHandle(runId).fetchHistory();
    assert.ok(history.events!.some((event) => event.activityTaskCanceledEventAttributes), 'the wait activity ended as cancelled');
  });
});
