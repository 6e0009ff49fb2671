import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { ChunkAssembler, ModelStreamError } from '../src/activities/chunk-assembler';
import { chunk, usageChunk } from '../src/demo-model/chunks';
import { startModelServer, type Frame, type ModelServer } from '../src/demo-model/server';
import { MemoryRelay } from '../src/relay/memory-relay';
import { positionLabel } from '../src/shared/event-position';
import type { StreamEvent } from '../src/shared/events';
import type { LlmStepInput, LlmStepResult } from '../src/shared/run-types';

// The streaming LLM activity against real HTTP and the real openai client, fed chunk sequences
// seen from servers that call themselves OpenAI-compatible.

const m = 'quirky';
const delta = (d: Record<string, unknown>, finish: string | null = null) => ({ chunk: chunk(m, d, finish) });

interface Case {
  name: string;
  frames: Frame[];
  done?: boolean;
  expect: Partial<LlmStepResult>;
}

const cases: Case[] = [
  {
    name: 'OpenAI text in pieces with a usage chunk',
    frames: [delta({ role: 'assistant', content: '' }), delta({ content: 'Hel' }), delta({ content: 'lo!' }), delta({}, 'stop'), { chunk: usageChunk(m, { prompt_tokens: 5, completion_tokens: 2 }) }],
    expect: { text: 'Hello!', toolCalls: [], finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 } },
  },
  {
    name: 'OpenAI parallel tool calls: id and name first, arguments in pieces, by index',
    frames: [
      delta({ role: 'assistant', content: null }),
      delta({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'calculator', arguments: '' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"expre' } }] }),
      delta({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'calculator', arguments: '{"expression"' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: 'ssion":"1+1"}' } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: ':"2*3"}' } }] }),
      delta({}, 'tool_calls'),
    ],
    expect: {
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_a', name: 'calculator', arguments: '{"expression":"1+1"}' },
        { id: 'call_b', name: 'calculator', arguments: '{"expression":"2*3"}' },
      ],
    },
  },
  {
    name: 'Ollama: role in every delta, whole calls all with index 0, usage before [DONE]',
    frames: [
      delta({ role: 'assistant', content: 'Let me compute. ' }),
      delta({ role: 'assistant', content: '', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"1+2"}' } }] }),
      delta({ role: 'assistant', content: '', tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'calculator', arguments: '{"expression":"3+4"}' } }] }),
      delta({ role: 'assistant', content: '' }, 'tool_calls'),
      { chunk: usageChunk(m, { prompt_tokens: 10, completion_tokens: 20 }) },
    ],
    expect: {
      text: 'Let me compute. ',
      toolCalls: [
        { id: 'call_1', name: 'calculator', arguments: '{"expression":"1+2"}' },
        { id: 'call_2', name: 'calculator', arguments: '{"expression":"3+4"}' },
      ],
      usage: { promptTokens: 10, completionTokens: 20, totalTokens: 30 },
    },
  },
  {
    name: 'a small mock server: no index at all, and finish_reason "stop" on a message with tool calls',
    frames: [
      delta({ tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'calculator', arguments: '' } }] }),
      delta({ tool_calls: [{ function: { arguments: '{"expression":' } }] }),
      delta({ tool_calls: [{ function: { arguments: '"9/3"}' } }] }),
      delta({ tool_calls: [{ id: 'call_y', type: 'function', function: { name: 'calculator', arguments: '{"expression":"1"}' } }] }),
      delta({}, 'stop'),
    ],
    expect: {
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_x', name: 'calculator', arguments: '{"expression":"9/3"}' },
        { id: 'call_y', name: 'calculator', arguments: '{"expression":"1"}' },
      ],
    },
  },
  {
    name: 'reasoning fields (vLLM reasoning_content, Ollama reasoning) stay out of the text',
    frames: [delta({ reasoning_content: 'thinking...' }), delta({ reasoning: 'more thinking' }), delta({ content: 'Answer.' }), delta({}, 'stop')],
    expect: { text: 'Answer.', finishReason: 'stop', toolCalls: [] },
  },
  {
    name: 'usage in every chunk (vLLM continuous_usage_stats) and unknown fields: the last usage wins',
    frames: [
      { chunk: { ...chunk(m, { content: 'a' }), usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 }, system_fingerprint: 'x', extra: { y: 1 } } },
      { chunk: { ...chunk(m, { content: 'b', unknown_field: true }, 'stop'), usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } } },
    ],
    expect: { text: 'ab', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } },
  },
  {
    name: 'comment lines and an unrequested usage chunk (llama.cpp)',
    frames: [{ raw: ': ping\n\n' }, delta({ content: 'x' }), { raw: ': still here\n\n' }, delta({}, 'length'), { chunk: usageChunk(m, { prompt_tokens: 1, completion_tokens: 1 }) }],
    expect: { text: 'x', finishReason: 'length', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 } },
  },
  {
    name: 'an interrupted stream that never sends usage, and a call with empty arguments',
    frames: [delta({ tool_calls: [{ index: 0, id: 'call_e', type: 'function', function: { name: 'calculator' } }] })],
    expect: { toolCalls: [{ id: 'call_e', name: 'calculator', arguments: '{}' }], usage: undefined, finishReason: 'tool_calls' },
  },
];

let server: ModelServer;
const scripts = new Map<string, { frames: Frame[]; done?: boolean }>();

before(async () => {
  server = await startModelServer((request) => {
    const script = scripts.get(request.model);
    if (!script) throw new Error(`no script for model ${request.model}`);
    return { kind: 'stream', ...script };
  });
});

after(async () => server?.close());

async function runStep(name: string, frames: Frame[], done?: boolean, attempt = 1) {
  scripts.set(name, { frames, done });
  const relay = new MemoryRelay();
  const received: StreamEvent[] = [];
  const subscription = relay.subscribe('run-1');
  const collecting = (async () => {
    for (;;) received.push(await subscription.next());
  })();
  void collecting;
  const { llmStep } = createActivities({ relay, model: { baseURL: server.baseURL, apiKey: 'k', timeoutMs: 10_000 }, tools: new ToolRegistry([calculatorTool]) });
  const environment = new MockActivityEnvironment({ attempt });
  const heartbeats: unknown[] = [];
  environment.on('heartbeat', (details) => heartbeats.push(details));
  try {
    const input: LlmStepInput = { runId: 'run-1', step: 1, model: name, messages: [{ role: 'user', content: 'hi' }], tools: ['calculator'] };
    const result = (await environment.run(llmStep, input)) as LlmStepResult;
    return { result, received, heartbeats };
  } finally {
    subscription.close();
  }
}

describe('assembling quirky streams through the openai client', () => {
  for (const testCase of cases) {
    test(`when the stream is ${testCase.name}, then the message assembles correctly`, async () => {
      const { result, received } = await runStep(testCase.name, testCase.frames, testCase.done);
      for (const [key, value] of Object.entries(testCase.expect)) {
        assert.deepEqual(result[key as keyof LlmStepResult], value, key);
      }
      const text = received.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta).join('');
      assert.equal(text, result.text, 'published deltas add up to the text');
      assert.equal(received[0]?.event, 'step.started');
    });
  }
});

describe('llmStep events and failures', () => {
  test('when the step runs, then each delta is published with its offset as id, and heartbeats carry the cursor', async () => {
    const { received, heartbeats } = await runStep('ids', [delta({ content: 'ab' }), delta({ content: 'cde' }), delta({}, 'stop')]);
    assert.deepEqual(received.map((event) => positionLabel(event.position)), ['1.0.0', '1.1.2', '1.1.5']);
    assert.ok(heartbeats.length >= 1);
    assert.deepEqual(Object.keys(heartbeats[0] as object).sort(), ['attempt', 'cursor', 'relay', 'runId', 'stream']);
  });

  test('when the step is a retry (attempt 3), then it announces step.retrying before its text', async () => {
    const { received } = await runStep('retry', [delta({ content: 'again' }), delta({}, 'stop')], true, 3);
    assert.deepEqual(received.map((event) => [event.event, positionLabel(event.position)]), [['step.retrying', '1.3.0'], ['text.delta', '1.3.5']]);
  });

  test('when an error chunk with an HTTP 400 code arrives (vLLM), then the failure is not retryable', async () => {
    await assert.rejects(
      runStep('vllm-400', [delta({ content: 'par' }), { chunk: { error: { message: 'context too long', type: 'BadRequestError', code: 400 } } }]),
      (error: unknown) => error instanceof ApplicationFailure && error.nonRetryable && error.type === 'ModelRequestRejected',
    );
  });

  test('when an error chunk says the server is overloaded, then the failure is retryable', async () => {
    await assert.rejects(
      runStep('overloaded', [delta({ content: 'par' }), { chunk: { error: { message: 'overloaded', type: 'server_error', code: 503 } } }], false),
      (error: unknown) => error instanceof ApplicationFailure && !error.nonRetryable && error.type === 'ModelUnavailable',
    );
  });
});

describe('ChunkAssembler on its own', () => {
  test('when a chunk is an error object, then push throws a typed error with its status', () => {
    const assembler = new ChunkAssembler();
    assert.throws(() => assembler.push({ error: { message: 'bad', code: '429' } }), (error: unknown) => error instanceof ModelStreamError && error.status === 429);
  });

  test('when tool calls have no ids, then stable fallback ids are made', () => {
    const assembler = new ChunkAssembler();
    assembler.push({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'calculator', arguments: '{}' } }] } }] });
    assert.deepEqual(assembler.result((position) => `call_7_${position}`).toolCalls, [{ id: 'call_7_0', name: 'calculator', arguments: '{}' }]);
  });
});
