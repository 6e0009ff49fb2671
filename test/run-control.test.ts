import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chunk, completionBody, textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { startTemporal } from './helpers/temporal';
import { assembleText, readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';

// Each test picks its model behaviour by the first word of its input.
const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const attemptsSeen = new Map<string, number>();

function reply(request: ChatRequest): Reply {
  const input = request.messages.find((message) => message.role === 'user')?.content ?? '';
  const [scenario] = input.split(' ');
  const count = (attemptsSeen.get(input) ?? 0) + 1;
  attemptsSeen.set(input, count);
  switch (scenario) {
    case 'refuse-stream':
      if (request.stream) return { kind: 'json', status: 400, body: { error: { message: 'stream is not supported by this endpoint', type: 'invalid_request_error' } } };
      return { kind: 'json', body: completionBody(request.model, { content: 'A plain answer.' }, 'stop', { prompt_tokens: 3, completion_tokens: 3 }) };
    case 'ignore-stream':
      return { kind: 'json', body: completionBody(request.model, { content: 'Whole, not streamed.' }, 'stop', { prompt_tokens: 3, completion_tokens: 4 }) };
    case 'flaky':
      if (count === 1) {
        return {
          kind: 'stream',
          frames: [
            ...textFrames(request.model, 'This partial text will be discarded', fast).slice(0, 5),
            { chunk: { error: { message: 'upstream overloaded', type: 'server_error', code: 503 } } },
          ],
          done: false,
        };
      }
      return { kind: 'stream', frames: textFrames(request.model, 'The second attempt worked.', fast) };
    case 'rejected':
      // As OpenAI does: the error echoes part of the key.
      return { kind: 'json', status: 401, body: { error: { message: `Incorrect API key provided: ${secret.slice(0, 12)}***7890. Also: ${secret}`, type: 'invalid_request_error' } } };
    case 'loop': {
      const call = { id: `call_loop_${count}`, name: 'calculator', arguments: JSON.stringify({ expression: `${count}+1` }) };
      return { kind: 'stream', frames: toolCallFrames(request.model, [call], fast) };
    }
    case 'junk-tool': {
      if (request.messages.at(-1)?.role === 'tool') {
        return { kind: 'stream', frames: textFrames(request.model, `The tool said: ${request.messages.at(-1)!.content}`, fast) };
      }
      const calls = [
        { id: 'call_bad_expr', name: 'calculator', arguments: JSON.stringify({ expression: '2+*' }) },
        { id: 'call_bad_json', name: 'calculator', arguments: '{"expression": ' },
        { id: 'call_unknown', name: 'teleport', arguments: '{}' },
      ];
      return { kind: 'stream', frames: toolCallFrames(request.model, calls, fast) };
    }
    case 'slow':
      return { kind: 'stream', frames: textFrames(request.model, 'tick '.repeat(400), { firstTokenDelayMs: 0, tokenDelayMs: 25 }) };
    case 'tokens': {
      const n = Number(input.split(' ')[1]);
      return { kind: 'stream', frames: textFrames(request.model, Array.from({ length: n }, (_, i) => `t${i}`).join(' '), fast) };
    }
    default:
      return { kind: 'stream', frames: [{ chunk: chunk(request.model, { content: 'ok' }, 'stop') }] };
  }
}

let environment: TestWorkflowEnvironment;
let stack: TestStack;
const secret = 'sk-test-SECRET-do-not-leak-1234567890';

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, reply, { apiKey: secret, limits: { maxSteps: 20, maxInputChars: 1000, approvalTimeoutMs: 60_000 } });
});

after(async () => {
  await stack?.close();
  await environment?.teardown();
});

async function run(input: string, extra: Record<string, unknown> = {}) {
  const started = await stack.post('/v1/runs', { input, ...extra });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
  return { runId: started.body.runId as string, events, terminal: events.at(-1)! };
}

describe('model endpoints that misbehave', () => {
  test('when the endpoint refuses streaming, then a plain call is made and its text is still emitted', async () => {
    const { events, terminal } = await run('refuse-stream please');
    assert.equal(terminal.event, 'run.completed');
    assert.equal(terminal.data.output, 'A plain answer.');
    assert.deepEqual(events.filter((e) => e.event === 'text.delta').map((e) => e.data.delta), ['A plain answer.']);
    const calls = stack.model.requests.filter((r) => r.body.messages.some((m) => m.content === 'refuse-stream please'));
    assert.deepEqual(calls.map((r) => r.body.stream), [true, false]);
  });

  test('when the endpoint ignores stream: true and answers with JSON, then the answer is still delivered', async () => {
    const { terminal } = await run('ignore-stream please');
    assert.equal(terminal.data.output, 'Whole, not streamed.');
  });

  test('when the stream breaks with an error chunk, then Temporal retries, the client is told to discard, and the text is whole', async () => {
    const { events, terminal } = await run('flaky model');
    const retrying = events.find((e) => e.event === 'step.retrying');
    assert.ok(retrying, 'a step.retrying event');
    assert.equal(retrying.data.attempt, 2);
    assert.ok(events.indexOf(retrying) > events.findIndex((e) => e.event === 'text.delta'), 'partial text came first');
    assert.equal([...assembleText(events).values()].join(''), 'The second attempt worked.');
    assert.equal(terminal.data.output, 'The second attempt worked.');
  });

  test('when the endpoint rejects the request (401), then the run fails at once with the reason, without retries', async () => {
    const { runId, terminal } = await run('rejected key');
    assert.equal(terminal.event, 'run.failed');
    assert.match(terminal.data.error.message, /401/);
    assert.match(terminal.data.error.message, /Incorrect API key provided: \[redacted\]/);
    const history = JSON.stringify(await environment.client.workflow.getHandle(runId).fetchHistory());
    for (const text of [terminal.data.error.message, history]) {
      assert.ok(!text.includes(secret.slice(0, 12)), 'no part of the key in the failure or the history');
    }
    assert.equal(attemptsSeen.get('rejected key'), 1);
    const state = await stack.get(`/v1/runs/${runId}`);
    assert.equal(state.body.status, 'failed');
  });
});

describe('tools and limits', () => {
  test('when tool calls are junk (bad expression, bad JSON, unknown tool), then each is an error result the model reads', async () => {
    const { events, terminal } = await run('junk-tool test');
    const errors = Object.fromEntries(events.filter((e) => e.event === 'tool.failed').map((e) => [e.data.callId, e.data.error]));
    assert.deepEqual(Object.keys(errors).sort(), ['call_bad_expr', 'call_bad_json', 'call_unknown']);
    assert.match(errors.call_bad_expr, /unexpected "\*"/);
    assert.match(errors.call_bad_json, /not valid JSON/);
    assert.match(errors.call_unknown, /unknown tool "teleport"/);
    assert.equal(terminal.event, 'run.completed');
    assert.match(terminal.data.output, /unknown tool "teleport"/);
  });

  test('when the model keeps calling tools past maxSteps, then the run fails with a clear reason', async () => {
    const { runId, terminal } = await run('loop forever', { maxSteps: 2 });
    assert.equal(terminal.event, 'run.failed');
    assert.equal(terminal.data.error.code, 'max_steps_exceeded');
    const state = await stack.get(`/v1/runs/${runId}`);
    assert.equal(state.body.status, 'failed');
    assert.equal(state.body.steps.length, 4);
  });
});

describe('cancel', () => {
  test('when a run is cancelled mid-stream, then the model stream is aborted and run.cancelled ends the stream', async () => {
    const started = await stack.post('/v1/runs', { input: 'slow ticking' });
    const runId = started.body.runId;
    let cancelled: Promise<{ status: number }> | undefined;
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`, {
      until: (event, all) => {
        if (event.event === 'text.delta' && all.filter((e) => e.event === 'text.delta').length === 3) {
          cancelled ??= stack.post(`/v1/runs/${runId}/cancel`, {});
        }
        return false;
      },
    });
    assert.equal((await cancelled)?.status, 202);
    const terminal = events.at(-1)!;
    assert.equal(terminal.event, 'run.cancelled');
    const seen = [...assembleText(events).values()].join('');
    assert.ok(seen.length > 0 && terminal.data.partial.startsWith(seen), 'the partial transcript holds what the client saw');
    assert.ok('tick '.repeat(400).startsWith(terminal.data.partial), 'and nothing the model did not say');
    const modelRequest = stack.model.requests.find((r) => r.body.messages.some((m) => m.content === 'slow ticking'))!;
    assert.equal(modelRequest.aborted, true, 'the model stream was aborted');
    const state = await stack.get(`/v1/runs/${runId}`);
    assert.equal(state.body.status, 'cancelled');
    const again = await stack.post(`/v1/runs/${runId}/cancel`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'run_not_running');
  });
});

describe('history and secrets', () => {
  test('when the answer grows from 10 to 400 tokens, then the workflow history does not grow', async () => {
    const small = await run('tokens 10');
    const large = await run('tokens 400');
    assert.equal(large.terminal.data.output.split(' ').length, 400);
    const count = async (runId: string) => (await environment.client.workflow.getHandle(runId).fetchHistory()).events!.length;
    assert.equal(await count(large.runId), await count(small.runId));
  });

  test('when a model API key is configured, then it reaches the model but no history, event, heartbeat or response', async () => {
    const started = await stack.post('/v1/runs', { input: 'slow secret check' });
    const runId = started.body.runId;
    const handle = environment.client.workflow.getHandle(runId);
    // Heartbeat details of the running step: coordinates and cursor, nothing else.
    let details: unknown;
    for (let i = 0; i < 100 && details === undefined; i++) {
      const description = await handle.describe();
      const pending = description.raw.pendingActivities?.[0];
      if (pending?.heartbeatDetails?.payloads?.length) {
        details = defaultPayloadConverter.fromPayload(pending.heartbeatDetails.payloads[0]!);
      } else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(details, 'heartbeat details recorded');
    assert.deepEqual(Object.keys(details as object).sort(), ['attempt', 'cursor', 'relay', 'runId', 'stream']);
    assert.doesNotMatch(JSON.stringify(details), /SECRET/);
    await stack.post(`/v1/runs/${runId}/cancel`, {});
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    const history = JSON.stringify(await handle.fetchHistory());
    const state = await stack.get(`/v1/runs/${runId}`);
    for (const [where, text] of [['history', history], ['events', JSON.stringify(events)], ['run', JSON.stringify(state.body)]] as const) {
      assert.ok(!text.includes(secret) && !text.includes('SECRET'), `secret leaked into ${where}`);
    }
    const modelRequest = stack.model.requests.find((r) => r.body.messages.some((m) => m.content === 'slow secret check'))!;
    assert.equal(modelRequest.authorization, `Bearer ${secret}`);
  });
});
