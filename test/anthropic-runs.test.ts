import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { anthropicErrorBody, anthropicErrorFrame, anthropicTextFrames, anthropicToolFrames, messageStart, textBlock } from '../src/demo-model/anthropic-frames';
import { startAnthropicServer, type AnthropicReply, type AnthropicRequest, type AnthropicServer } from '../src/demo-model/anthropic-server';
import { assembleText, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Runs on Claude end to end: the real API and worker on a real Temporal dev server, the model a
// scripted Messages API server over real HTTP (MODEL_PROVIDER=anthropic).

const key = 'sk-ant-runs-secret-0123456789';
const seen = new Map<string, number>();

/** The task of a conversation: its first user text. */
function taskOf(request: AnthropicRequest): string {
  const first = request.messages[0]?.content;
  const block = Array.isArray(first) ? first.find((part) => part.type === 'text') : undefined;
  return typeof first === 'string' ? first : String(block?.text ?? '');
}

function reply(request: AnthropicRequest): AnthropicReply {
  const task = taskOf(request);
  const count = (seen.get(task) ?? 0) + 1;
  seen.set(task, count);
  const { model } = request;
  if (task.startsWith('Say hello')) return { kind: 'stream', frames: anthropicTextFrames(model, 'Hello there, this is Claude speaking.', { input_tokens: 14, output_tokens: 7 }, 10) };
  if (task.startsWith('Compute')) {
    const results = request.messages.at(-1)?.content;
    const answered = Array.isArray(results) && results.some((block) => block.type === 'tool_result');
    if (!answered) return { kind: 'stream', frames: anthropicToolFrames(model, 'Let me compute.', [{ id: 'toolu_calc', name: 'calculator', input: '{"expression":"6*7"}' }]) };
    return { kind: 'stream', frames: anthropicTextFrames(model, 'The answer is 42.') };
  }
  if (task.startsWith('Flaky')) {
    if (count === 1) return { kind: 'stream', frames: [messageStart(model), ...textBlock(0, 'This will break').slice(0, 3), anthropicErrorFrame('overloaded_error', 'Overloaded')] };
    return { kind: 'stream', frames: anthropicTextFrames(model, 'Recovered on the second try.') };
  }
  if (task.startsWith('Busy')) {
    if (count === 1) return { kind: 'json', status: 529, body: anthropicErrorBody('overloaded_error', 'Overloaded') };
    return { kind: 'stream', frames: anthropicTextFrames(model, 'Served after the overload.') };
  }
  if (task.startsWith('Rejected')) return { kind: 'json', status: 400, body: anthropicErrorBody('invalid_request_error', 'messages: roles must alternate') };
  throw new Error(`no script for "${task}"`);
}

let environment: TestTemporal;
let anthropic: AnthropicServer;
let stack: TestStack;

before(async () => {
  environment = await startTemporal();
  anthropic = await startAnthropicServer(reply);
  stack = await startTestStack(
    environment,
    () => {
      throw new Error('the OpenAI-compatible endpoint is not used by these runs');
    },
    { modelSettings: { provider: 'anthropic', name: 'claude-scripted', anthropic: { baseURL: anthropic.baseURL, apiKey: key, maxTokens: 2048 } } },
  );
});

after(async () => {
  await stack?.close();
  await anthropic?.close();
  await environment?.teardown();
});

async function run(input: string, tools: string[] = []): Promise<{ runId: string; events: ReceivedEvent[]; state: any }> {
  const started = await stack.post('/v1/runs', { input, tools });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { events } = await readSse(`${stack.url}${started.body.links.events}`);
  const state = (await stack.get(`/v1/runs/${started.body.runId}`)).body;
  return { runId: started.body.runId, events, state };
}

const text = (events: ReceivedEvent[]) => [...assembleText(events).values()].join('');
const requestsFor = (prefix: string) => anthropic.requests.filter((request) => taskOf(request.body).startsWith(prefix));

describe('runs on Claude through the API', () => {
  test('when Claude streams an answer, then the SSE client gets it token by token, equal to the transcript, with usage and the model recorded', async () => {
    const { events, state } = await run('Say hello');
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    const deltas = events.filter((event) => event.event === 'text.delta');
    assert.ok(deltas.length >= 6, `streamed in pieces (${deltas.length} deltas)`);
    assert.equal(text(events), 'Hello there, this is Claude speaking.');
    assert.equal(state.output, 'Hello there, this is Claude speaking.');
    assert.deepEqual(state.usage, { promptTokens: 14, completionTokens: 7, totalTokens: 21 });
    assert.equal(state.steps[0].model, 'claude-scripted');
    assert.equal(state.steps[0].finishReason, 'stop');
    assert.ok(!JSON.stringify([events, state]).includes(key), 'the key is in no event and no state');
  });

  test('when Claude calls a tool with its input streamed as input_json_delta, then the tool runs and its result goes back as a tool_result', async () => {
    const { events, state } = await run('Compute 6*7 please', ['calculator']);
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    const completed = events.find((event) => event.event === 'tool.completed');
    assert.deepEqual([completed?.data.name, completed?.data.result], ['calculator', '42']);
    assert.equal(state.output, 'The answer is 42.');
    const [first, second] = requestsFor('Compute');
    assert.deepEqual(first!.body.tools?.map((tool) => tool.name), ['calculator']);
    assert.deepEqual(second!.body.messages.slice(1), [
      { role: 'assistant', content: [{ type: 'text', text: 'Let me compute.' }, { type: 'tool_use', id: 'toolu_calc', name: 'calculator', input: { expression: '6*7' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_calc', content: '42' }] },
    ]);
  });

  test('when an error event arrives mid-stream, then the step is retried, the client is told to drop the partial text, and the run completes', async () => {
    const { events, state } = await run('Flaky stream');
    assert.equal(events.at(-1)?.event, 'run.completed');
    assert.ok(events.some((event) => event.event === 'step.retrying' && event.data.attempt === 2), 'step.retrying for attempt 2');
    assert.equal(text(events), 'Recovered on the second try.');
    assert.equal(state.steps[0].attempt, 2);
    assert.equal(requestsFor('Flaky').length, 2);
  });

  test('when the API answers 529 overloaded, then the step is retried and completes', async () => {
    const { events, state } = await run('Busy service');
    assert.equal(events.at(-1)?.event, 'run.completed');
    assert.equal(state.output, 'Served after the overload.');
    assert.equal(requestsFor('Busy').length, 2);
  });

  test('when the API answers 400, then the step is not retried and the run fails with the rejection', async () => {
    const { events, state } = await run('Rejected request');
    const end = events.at(-1)!;
    assert.equal(end.event, 'run.failed');
    assert.equal(end.data.error.code, 'model_step_failed');
    assert.match(end.data.error.message, /HTTP 400.*invalid_request_error: messages: roles must alternate/);
    assert.equal(state.status, 'failed');
    assert.equal(requestsFor('Rejected').length, 1, 'one request: no retry');
  });
});
