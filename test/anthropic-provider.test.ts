import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import { toAnthropicMessages } from '../src/activities/models/anthropic-messages';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import {
  anthropicErrorBody,
  anthropicErrorFrame,
  anthropicTextFrames,
  anthropicToolFrames,
  messageEnd,
  messageStart,
  textBlock,
} from '../src/demo-model/anthropic-frames';
import { startAnthropicServer, type AnthropicFrame, type AnthropicReply, type AnthropicRequest, type AnthropicServer } from '../src/demo-model/anthropic-server';
import { MemoryRelay } from '../src/relay/memory-relay';
import type { StreamEvent } from '../src/shared/events';
import type { ChatMessage, LlmStepInput, LlmStepResult } from '../src/shared/run-types';

// The Anthropic provider inside llmStep, against a scripted Messages API server over real HTTP:
// the request it builds (through the official SDK), the stream it assembles, and its failures.

const key = 'sk-ant-secret-0123456789';
let server: AnthropicServer;
const scripts = new Map<string, (request: AnthropicRequest) => AnthropicReply>();

before(async () => {
  server = await startAnthropicServer((request) => {
    const script = scripts.get(request.model);
    if (!script) throw new Error(`no script for model ${request.model}`);
    return script(request);
  });
});

after(async () => server?.close());

interface StepOptions {
  messages?: ChatMessage[];
  received?: StreamEvent[];
  started?: (environment: MockActivityEnvironment) => void;
  anthropic?: boolean;
}

/** Runs one llmStep on `anthropic:<model>` with the given script. */
async function runStep(model: string, reply: AnthropicReply | ((request: AnthropicRequest) => AnthropicReply), options: StepOptions = {}) {
  scripts.set(model, typeof reply === 'function' ? reply : () => reply);
  const relay = new MemoryRelay();
  const received = options.received ?? [];
  const subscription = relay.subscribe('run-a');
  void (async () => {
    for (;;) received.push(await subscription.next());
  })();
  const anthropic = options.anthropic === false ? undefined : { baseURL: server.baseURL, apiKey: key, maxTokens: 1024 };
  const { llmStep } = createActivities({ relay, model: { timeoutMs: 10_000, anthropic }, tools: new ToolRegistry([calculatorTool]) });
  const environment = new MockActivityEnvironment({ attempt: 1 });
  const heartbeats: unknown[] = [];
  environment.on('heartbeat', (details) => heartbeats.push(details));
  try {
    const input: LlmStepInput = { runId: 'run-a', step: 1, model: `anthropic:${model}`, messages: options.messages ?? [{ role: 'user', content: 'hi' }], tools: ['calculator'] };
    const running = environment.run(llmStep, input) as Promise<LlmStepResult>;
    options.started?.(environment);
    return { result: await running, received, heartbeats };
  } finally {
    subscription.close();
  }
}

const deltas = (events: StreamEvent[]) => events.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta);

function failedWith(type: string, nonRetryable: boolean, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ApplicationFailure, `an ApplicationFailure, not ${String(error)}`);
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable, error.message);
    if (message) assert.match(error.message, message);
    assert.ok(!error.message.includes(key), 'the key is never in a failure');
    return true;
  };
}

describe('the Anthropic provider: streams', () => {
  test('when Claude streams text, then each text_delta is published as it arrives and usage and stop reason assemble', async () => {
    const { result, received } = await runStep('text', { kind: 'stream', frames: anthropicTextFrames('text', 'Hello from Claude.', { input_tokens: 12, output_tokens: 4 }) });
    assert.equal(result.text, 'Hello from Claude.');
    assert.deepEqual(deltas(received), ['Hello', ' from', ' Claude.']);
    assert.deepEqual(result.usage, { promptTokens: 12, completionTokens: 4, totalTokens: 16 });
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.streamed, true);
    assert.deepEqual(result.toolCalls, []);
  });

  test('when Claude asks for tools, then tool_use blocks are assembled from their input_json_delta fragments', async () => {
    const calls = [
      { id: 'toolu_01', name: 'calculator', input: '{"expression":"6*7"}' },
      { id: 'toolu_02', name: 'calculator', input: '{"expression":"1+1"}' },
    ];
    const { result, received } = await runStep('tools', { kind: 'stream', frames: anthropicToolFrames('tools', 'Let me compute.', calls, { input_tokens: 30, output_tokens: 25 }) });
    assert.equal(result.text, 'Let me compute.');
    assert.deepEqual(deltas(received).join(''), 'Let me compute.');
    assert.deepEqual(result.toolCalls, [
      { id: 'toolu_01', name: 'calculator', arguments: '{"expression":"6*7"}' },
      { id: 'toolu_02', name: 'calculator', arguments: '{"expression":"1+1"}' },
    ]);
    assert.equal(result.finishReason, 'tool_calls');
    assert.deepEqual(result.usage, { promptTokens: 30, completionTokens: 25, totalTokens: 55 });
  });

  const stops = [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['pause_turn', 'length'],
    ['refusal', 'content_filter'],
  ];
  for (const [stopReason, finishReason] of stops) {
    test(`when the stop reason is ${stopReason}, then the finish reason is ${finishReason}`, async () => {
      const frames = [messageStart('m'), ...textBlock(0, 'Some text'), ...messageEnd(stopReason!, 2)];
      const { result } = await runStep(`stop-${stopReason}`, { kind: 'stream', frames });
      assert.equal(result.finishReason, finishReason);
    });
  }

  test('when thinking, signature and citation deltas and unknown events arrive, then they stay out of the text', async () => {
    const frames: AnthropicFrame[] = [
      messageStart('m'),
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'secret plan' } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'abc' } } },
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      ...textBlock(1, 'Visible answer.'),
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation: {} } } },
      { event: 'some_future_event', data: { type: 'some_future_event' } },
      { raw: ': a comment line\n\n' },
      ...messageEnd('end_turn', 3),
    ];
    const { result } = await runStep('thinking', { kind: 'stream', frames });
    assert.equal(result.text, 'Visible answer.');
  });

  test('when an endpoint answers with a whole message instead of a stream, then it is used as one delta', async () => {
    const body = { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Whole.' }, { type: 'tool_use', id: 'toolu_9', name: 'calculator', input: { expression: '2' } }], stop_reason: 'tool_use', usage: { input_tokens: 3, output_tokens: 4 } };
    const { result, received } = await runStep('whole', { kind: 'json', body });
    assert.equal(result.streamed, false);
    assert.deepEqual(deltas(received), ['Whole.']);
    assert.deepEqual(result.toolCalls, [{ id: 'toolu_9', name: 'calculator', arguments: '{"expression":"2"}' }]);
  });
});

describe('the Anthropic provider: the request', () => {
  test('when the conversation is sent, then the SDK-built request carries the key, the system prompt at the top and Anthropic-shaped turns', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Compute two things.' },
      {
        role: 'assistant',
        content: 'Sure.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'calculator', arguments: '{"expression":"1+1"}' } },
          { id: 'call.b', type: 'function', function: { name: 'calculator', arguments: '{"expression":"2*3"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '2' },
      { role: 'tool', tool_call_id: 'call.b', content: '6' },
      { role: 'user', content: 'Thanks.' },
    ];
    const before = server.requests.length;
    await runStep('shape', { kind: 'stream', frames: anthropicTextFrames('shape', 'Done.') }, { messages });
    const seen = server.requests[before]!;
    assert.equal(seen.headers['authorization'] ?? seen.headers['x-api-key'], seen.headers['authorization'] ? `Bearer ${key}` : key, 'the key as the SDK sends it');
    assert.ok(seen.headers['anthropic-version'], 'the API version the SDK speaks');
    assert.equal(seen.body.model, 'shape', 'the provider prefix is not sent');
    assert.equal(seen.body.stream, true);
    assert.equal(seen.body.max_tokens, 1024);
    assert.equal(seen.body.system, 'Be brief.');
    assert.deepEqual(seen.body.tools?.map((tool) => [tool.name, (tool.input_schema as { type: string }).type]), [['calculator', 'object']]);
    assert.deepEqual(seen.body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Compute two things.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Sure.' },
          { type: 'tool_use', id: 'call_a', name: 'calculator', input: { expression: '1+1' } },
          { type: 'tool_use', id: 'call_b', name: 'calculator', input: { expression: '2*3' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_a', content: '2' },
          { type: 'tool_result', tool_use_id: 'call_b', content: '6' },
          { type: 'text', text: 'Thanks.' },
        ],
      },
    ]);
  });

  test('when the conversation opens with the model, has empty texts and arguments that are not JSON, then the turns still satisfy the API', () => {
    const converted = toAnthropicMessages([
      { role: 'assistant', content: 'Earlier answer.' },
      { role: 'user', content: '   ' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calculator', arguments: 'not json' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '' },
      { role: 'system', content: 'Late system note.' },
      { role: 'user', content: 'Go on.' },
    ]);
    assert.equal(converted.system, 'Late system note.');
    assert.deepEqual(converted.messages, [
      { role: 'user', content: [{ type: 'text', text: '(The conversation so far follows.)' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Earlier answer.' }, { type: 'tool_use', id: 'c1', name: 'calculator', input: { input: 'not json' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1' }, { type: 'text', text: 'Go on.' }] },
    ]);
  });
});

describe('the Anthropic provider: failures', () => {
  test('when an error event arrives mid-stream (overloaded), then the text before it was published and the failure is retryable', async () => {
    const received: StreamEvent[] = [];
    const frames = [messageStart('m'), ...textBlock(0, 'half an answer').slice(0, 3), anthropicErrorFrame('overloaded_error', 'Overloaded')];
    await assert.rejects(runStep('mid-error', { kind: 'stream', frames }, { received }), failedWith('ModelUnavailable', false, /^model call failed: overloaded_error: Overloaded$/));
    assert.deepEqual(deltas(received), ['half', ' an']);
  });

  test('when an error event says the request is invalid, then the failure is not retryable', async () => {
    const frames = [messageStart('m'), anthropicErrorFrame('invalid_request_error', 'tools.0: bad schema')];
    await assert.rejects(runStep('mid-invalid', { kind: 'stream', frames }), failedWith('ModelRequestRejected', true, /invalid_request_error: tools\.0: bad schema/));
  });

  const statuses: Array<[number, string, string, string, boolean]> = [
    [400, 'invalid_request_error', 'messages.0: bad', 'ModelRequestRejected', true],
    [400, 'invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum', 'ContextWindowExceeded', true],
    [401, 'authentication_error', `invalid x-api-key ${key}`, 'ModelRequestRejected', true],
    [429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', 'ModelUnavailable', false],
    [500, 'api_error', 'Internal server error', 'ModelUnavailable', false],
    [529, 'overloaded_error', 'Overloaded', 'ModelUnavailable', false],
  ];
  for (const [status, errorType, message, type, nonRetryable] of statuses) {
    test(`when the API answers HTTP ${status} ${errorType}${type === 'ContextWindowExceeded' ? ' (prompt too long)' : ''}, then the step fails as ${type}, ${nonRetryable ? 'not ' : ''}retryable`, async () => {
      const expected = type === 'ContextWindowExceeded' ? /context window.*prompt is too long/ : new RegExp(`^model call failed \\(HTTP ${status}\\): ${errorType}: `);
      await assert.rejects(runStep(`status-${status}-${type}`, { kind: 'json', status, body: anthropicErrorBody(errorType, message) }), failedWith(type, nonRetryable, expected));
    });
  }

  test('when the stream stops before message_stop, then the step fails retryably as a cut-off connection', async () => {
    const frames = [messageStart('m'), ...textBlock(0, 'cut short')];
    await assert.rejects(runStep('cut', { kind: 'stream', frames }), failedWith('ModelUnavailable', false, /the stream ended before the message did/));
  });

  test('when the step is cancelled mid-stream, then the request is dropped at once and the partial text handed over', async () => {
    const before = server.requests.length;
    const frames = [messageStart('m'), ...textBlock(0, 'so far'), { delayMs: 10_000 }, ...messageEnd('end_turn', 2)];
    const received: StreamEvent[] = [];
    const started = (environment: MockActivityEnvironment) => {
      const waitForText = setInterval(() => {
        if (deltas(received).join('') === 'so far') {
          clearInterval(waitForText);
          environment.cancel();
        }
      }, 5);
    };
    await assert.rejects(runStep('cancel', { kind: 'stream', frames }, { received, started }), (error: unknown) => {
      assert.ok(error instanceof CancelledFailure, `a CancelledFailure, not ${String(error)}`);
      assert.deepEqual(error.details, [{ partialText: 'so far', attempt: 1 }]);
      return true;
    });
    const request = server.requests[before]!;
    for (let waited = 0; !request.aborted && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(request.aborted, true, 'the server saw the client go away');
  });

  test('when a step runs, then neither its heartbeats nor its events carry the key', async () => {
    const { received, heartbeats } = await runStep('no-secret', { kind: 'stream', frames: anthropicTextFrames('no-secret', 'ok') });
    assert.ok(!JSON.stringify([received, heartbeats]).includes(key));
  });

  test('when a worker has no Anthropic settings, then an Anthropic model is a rejected request, not a retry', async () => {
    await assert.rejects(runStep('unconfigured', { kind: 'stream', frames: [] }, { anthropic: false }), failedWith('ModelRequestRejected', true, /ANTHROPIC_API_KEY/));
  });
});
