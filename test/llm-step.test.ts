import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { ChunkAssembler, ModelStreamError } from '../src/activities/chunk-assembler';
import { chunk, completionBody, usageChunk } from '../src/demo-model/chunks';
import { startModelServer, type ChatRequest, type Frame, type ModelServer, type Reply } from '../src/demo-model/server';
import { MemoryRelay } from '../src/relay/memory-relay';
import { positionLabel } from '../src/shared/event-position';
import type { StreamEvent } from '../src/shared/events';
import type { LlmStepInput, LlmStepResult } from '../src/shared/run-types';

// The streaming LLM activity against real HTTP (model-stream.ts through the OpenAI-compatible
// provider, and the openai client for non-streamed calls), fed chunk sequences seen from servers
// that call themselves OpenAI-compatible (docs/architecture.md, Providers, lists the quirks).

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
    name: 'older Ollama: parallel calls whole in one chunk without index, finish_reason "stop", usage on that last chunk without stream_options',
    frames: [
      delta({ role: 'assistant', content: '' }),
      {
        chunk: {
          ...chunk(m, {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_o1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"2+2"}' } },
              { id: 'call_o2', type: 'function', function: { name: 'calculator', arguments: '{"expression":"3*3"}' } },
            ],
          }, 'stop'),
          usage: { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 },
        },
      },
    ],
    expect: {
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_o1', name: 'calculator', arguments: '{"expression":"2+2"}' },
        { id: 'call_o2', name: 'calculator', arguments: '{"expression":"3*3"}' },
      ],
      usage: { promptTokens: 7, completionTokens: 9, totalTokens: 16 },
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
/** The reply of each test, by the model name the test asks for. */
const scripts = new Map<string, (request: ChatRequest) => Reply>();

before(async () => {
  server = await startModelServer((request) => {
    const script = scripts.get(request.model);
    if (!script) throw new Error(`no script for model ${request.model}`);
    return script(request);
  });
});

after(async () => server?.close());

async function runStep(name: string, frames: Frame[], done?: boolean, attempt = 1) {
  scripts.set(name, () => ({ kind: 'stream', frames, done }));
  return runModel(name, { attempt });
}

interface StepOptions {
  attempt?: number;
  baseURL?: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Called once the step runs, with its environment: to cancel it. */
  started?: (environment: MockActivityEnvironment) => void;
  /** Collects the published events here (to see them when the step fails). */
  received?: StreamEvent[];
}

/** Runs one llmStep asking for `model`, against the model server unless `baseURL` says otherwise. */
async function runModel(model: string, options: StepOptions = {}) {
  const { attempt = 1, baseURL = server.baseURL, apiKey = 'k', timeoutMs = 10_000 } = options;
  const relay = new MemoryRelay();
  const received: StreamEvent[] = options.received ?? [];
  const subscription = relay.subscribe('run-1');
  const collecting = (async () => {
    for (;;) received.push(await subscription.next());
  })();
  void collecting;
  const { llmStep } = createActivities({ relay, model: { baseURL, apiKey, timeoutMs }, tools: new ToolRegistry([calculatorTool]) });
  const environment = new MockActivityEnvironment({ attempt });
  const heartbeats: unknown[] = [];
  environment.on('heartbeat', (details) => heartbeats.push(details));
  try {
    const input: LlmStepInput = { runId: 'run-1', step: 1, model, messages: [{ role: 'user', content: 'hi' }], tools: ['calculator'] };
    const running = environment.run(llmStep, input) as Promise<LlmStepResult>;
    options.started?.(environment);
    const result = await running;
    return { result, received, heartbeats };
  } finally {
    subscription.close();
  }
}

describe('assembling quirky streams', () => {
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
    // The first delta brings a usage estimate at its offset (the next is due 250 ms later).
    assert.deepEqual(received.map((event) => [event.event, positionLabel(event.position)]), [['step.started', '1.0.0'], ['text.delta', '1.1.2'], ['usage.updated', '1.1.2.u'], ['text.delta', '1.1.5']]);
    assert.ok(heartbeats.length >= 1);
    assert.deepEqual(Object.keys(heartbeats[0] as object).sort(), ['attempt', 'cursor', 'relay', 'runId', 'stream']);
  });

  test('when the step is a retry (attempt 3), then it announces step.retrying before its text', async () => {
    const { received } = await runStep('retry', [delta({ content: 'again' }), delta({}, 'stop')], true, 3);
    assert.deepEqual(received.map((event) => [event.event, positionLabel(event.position)]), [['step.retrying', '1.3.0'], ['text.delta', '1.3.5'], ['usage.updated', '1.3.5.u']]);
  });

  test('when an error chunk with an HTTP 400 code arrives (vLLM), then the failure is not retryable', async () => {
    await assert.rejects(
      runStep('vllm-400', [delta({ content: 'par' }), { chunk: { error: { message: 'context too long', type: 'BadRequestError', code: 400 } } }]),
      (error: unknown) => error instanceof ApplicationFailure && error.nonRetryable && error.type === 'ModelRequestRejected',
    );
  });

  test('when an older vLLM sends its error chunk with the fields at the top level (object: "error"), then it fails the step, not retryable for a 400', async () => {
    const received: StreamEvent[] = [];
    scripts.set('vllm-top-level', () => ({ kind: 'stream', frames: [delta({ content: 'par' }), { chunk: { object: 'error', message: 'Invalid tool choice', type: 'BadRequestError', param: null, code: 400 } }] }));
    await assert.rejects(runModel('vllm-top-level', { received }), failedWith('ModelRequestRejected', true, 'model call failed (HTTP 400): Invalid tool choice'));
    assert.equal(received.filter((event) => event.event === 'text.delta').length, 1, 'the text before it was published');
  });

  test('when an older vLLM says in a top-level error chunk that the context is too long, then the failure is ContextWindowExceeded', async () => {
    const frames = [{ chunk: { object: 'error', message: "This model's maximum context length is 4096 tokens.", type: 'BadRequestError', code: 400 } }];
    await assert.rejects(runStep('vllm-top-level-context', frames), failedWith('ContextWindowExceeded', true));
  });

  test('when an error chunk says the server is overloaded, then the failure is retryable', async () => {
    await assert.rejects(
      runStep('overloaded', [delta({ content: 'par' }), { chunk: { error: { message: 'overloaded', type: 'server_error', code: 503 } } }], false),
      (error: unknown) => error instanceof ApplicationFailure && !error.nonRetryable && error.type === 'ModelUnavailable',
    );
  });
});

/** A bare HTTP server, for what the model server does not do: hang, cut a stream off, show headers. */
async function startRawServer(handle: (request: IncomingMessage, response: ServerResponse, body: string) => void) {
  const raw = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (part: string) => (body += part));
    request.on('end', () => handle(request, response, body));
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const { port } = raw.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => (raw.closeAllConnections(), raw.close(() => resolve()))),
  };
}

const sse = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

/** Asserts that the step failed with this failure type, retryability and (if given) message. */
function failedWith(type: string, nonRetryable: boolean, message?: RegExp | string) {
  return (error: unknown) => {
    assert.ok(error instanceof ApplicationFailure, `an ApplicationFailure, not ${String(error)}`);
    assert.equal(error.type, type, error.message);
    assert.equal(error.nonRetryable, nonRetryable, error.message);
    if (typeof message === 'string') assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

describe('the streamed request over HTTP', () => {
  test('when the step runs, then it posts the streaming request to baseURL/chat/completions with the key as a bearer token', async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: ChatRequest } | undefined;
    const raw = await startRawServer((request, response, body) => {
      seen = { method: request.method, url: request.url, headers: request.headers, body: JSON.parse(body) as ChatRequest };
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(sse(chunk(m, { content: 'ok' }, 'stop')) + 'data: [DONE]\n\n');
    });
    try {
      const { result } = await runModel('gpt-test', { baseURL: raw.baseURL, apiKey: 'sk-test-key-1234' });
      assert.equal(result.text, 'ok');
      assert.equal(seen?.method, 'POST');
      assert.equal(seen?.url, '/v1/chat/completions');
      assert.equal(seen?.headers.authorization, 'Bearer sk-test-key-1234');
      assert.equal(seen?.headers['content-type'], 'application/json');
      assert.equal(seen?.headers.accept, 'text/event-stream');
      assert.equal(seen?.body.model, 'gpt-test');
      assert.equal(seen?.body.stream, true);
      assert.deepEqual(seen?.body.stream_options, { include_usage: true });
      assert.deepEqual(seen?.body.messages, [{ role: 'user', content: 'hi' }]);
      assert.deepEqual(seen?.body.tools?.map((tool) => tool.function.name), ['calculator']);
    } finally {
      await raw.close();
    }
  });

  for (const [label, suffix] of [['with a trailing slash', '/'], ['without one', '']] as const) {
    test(`when the base URL is given ${label}, then the request goes to the same path`, async () => {
      const name = `base-url-${suffix ? 'slash' : 'bare'}`;
      scripts.set(name, () => ({ kind: 'stream', frames: [delta({ content: 'found' }, 'stop')] }));
      const { result } = await runModel(name, { baseURL: `${server.baseURL}${suffix}` });
      assert.equal(result.text, 'found');
    });
  }

  const statuses = [
    {
      status: 401,
      body: { error: { message: 'Incorrect API key provided: sk-abcd***wxyz. You can find your API key at https://platform.openai.com.', type: 'invalid_request_error', code: 'invalid_api_key' } },
      type: 'ModelRequestRejected',
      nonRetryable: true,
      message: 'model call failed (HTTP 401): 401 Incorrect API key provided: [redacted] You can find your API key at https://platform.openai.com.',
    },
    {
      status: 429,
      body: { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } },
      type: 'ModelUnavailable',
      nonRetryable: false,
      message: 'model call failed (HTTP 429): 429 Rate limit reached for requests',
    },
    {
      status: 500,
      body: { error: { message: 'The server had an error while processing your request.', type: 'server_error', code: null } },
      type: 'ModelUnavailable',
      nonRetryable: false,
      message: 'model call failed (HTTP 500): 500 The server had an error while processing your request.',
    },
    {
      status: 400,
      body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } },
      type: 'ContextWindowExceeded',
      nonRetryable: true,
    },
  ];
  for (const { status, body, type, nonRetryable, message } of statuses) {
    test(`when the endpoint answers HTTP ${status} with an error body, then the step fails as ${type}${nonRetryable ? ', not retryable' : ', retryable'}`, async () => {
      scripts.set(`status-${status}`, () => ({ kind: 'json', status, body }));
      await assert.rejects(runModel(`status-${status}`), failedWith(type, nonRetryable, message));
    });
  }

  test('when the endpoint answers HTTP 502 with a body that is not JSON, then the failure is retryable and quotes the body', async () => {
    const raw = await startRawServer((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad gateway</html>');
    });
    try {
      await assert.rejects(runModel('gateway', { baseURL: raw.baseURL }), failedWith('ModelUnavailable', false, 'model call failed (HTTP 502): 502 <html>Bad gateway</html>'));
    } finally {
      await raw.close();
    }
  });

  test('when an error chunk in OpenAI\'s shape arrives mid-stream, then the text before it was published and the failure is retryable', async () => {
    const received: StreamEvent[] = [];
    const frames = [delta({ content: 'half an ans' }), { chunk: { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } } }];
    scripts.set('error-chunk', () => ({ kind: 'stream', frames }));
    await assert.rejects(
      runModel('error-chunk', { received }),
      failedWith('ModelUnavailable', false, 'model call failed: The server had an error while processing your request.'),
    );
    assert.deepEqual(received.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta), ['half an ans']);
  });

  test('when an error chunk says the request is invalid, then the failure is not retryable', async () => {
    const frames = [{ chunk: { error: { message: 'Invalid tool schema', type: 'invalid_request_error', param: 'tools', code: null } } }];
    scripts.set('error-chunk-invalid', () => ({ kind: 'stream', frames }));
    await assert.rejects(runModel('error-chunk-invalid'), failedWith('ModelRequestRejected', true, 'model call failed: Invalid tool schema'));
  });

  test('when the stream ends without [DONE], then the step ends with what arrived, as the openai client does', async () => {
    const { result } = await runStep('no-done', [delta({ content: 'All ' }), delta({ content: 'here.' }), delta({}, 'stop'), { chunk: usageChunk(m, { prompt_tokens: 4, completion_tokens: 2 }) }], false);
    assert.equal(result.text, 'All here.');
    assert.equal(result.finishReason, 'stop');
    assert.deepEqual(result.usage, { promptTokens: 4, completionTokens: 2, totalTokens: 6 });
  });

  test('when the connection breaks mid-stream, then the failure is retryable', async () => {
    const received: StreamEvent[] = [];
    const raw = await startRawServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sse(chunk(m, { content: 'cut ' })), () => setTimeout(() => response.socket?.destroy(), 20));
    });
    try {
      await assert.rejects(runModel('cut', { baseURL: raw.baseURL, received }), failedWith('ModelUnavailable', false, 'model call failed: Connection error: the response was cut off.'));
      assert.deepEqual(received.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta), ['cut ']);
    } finally {
      await raw.close();
    }
  });

  test('when nothing listens at the base URL, then the failure is a retryable connection error', async () => {
    const raw = await startRawServer(() => undefined);
    await raw.close();
    await assert.rejects(runModel('nobody', { baseURL: raw.baseURL }), failedWith('ModelUnavailable', false, 'model call failed: Connection error.'));
  });

  test('when the endpoint does not answer within the model timeout, then the failure is a retryable timeout', async () => {
    const raw = await startRawServer(() => undefined);
    try {
      const started = Date.now();
      await assert.rejects(runModel('silent', { baseURL: raw.baseURL, timeoutMs: 300 }), failedWith('ModelUnavailable', false, 'model call failed: Request timed out.'));
      assert.ok(Date.now() - started < 5_000, 'the timeout, not the test, ended it');
    } finally {
      await raw.close();
    }
  });

  test('when the endpoint ignores stream: true and answers JSON, then the whole answer is published as one delta', async () => {
    scripts.set('ignores-stream', () => ({ kind: 'json', body: completionBody('ignores-stream', { content: 'Whole answer.' }, 'stop', { prompt_tokens: 2, completion_tokens: 2 }) }));
    const { result, received } = await runModel('ignores-stream');
    assert.equal(result.text, 'Whole answer.');
    assert.equal(result.streamed, false);
    assert.deepEqual(result.usage, { promptTokens: 2, completionTokens: 2, totalTokens: 4 });
    assert.deepEqual(received.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta), ['Whole answer.']);
  });

  test('when the endpoint refuses to stream, then a plain call through the openai client delivers the answer', async () => {
    const before = server.requests.length;
    scripts.set('refuses-stream', (request) =>
      request.stream
        ? { kind: 'json', status: 400, body: { error: { message: 'stream is not supported by this endpoint', type: 'invalid_request_error' } } }
        : { kind: 'json', body: completionBody('refuses-stream', { content: 'Plain answer.' }, 'stop', { prompt_tokens: 1, completion_tokens: 2 }) },
    );
    const { result } = await runModel('refuses-stream');
    assert.equal(result.text, 'Plain answer.');
    assert.equal(result.streamed, false);
    assert.deepEqual(server.requests.slice(before).map((request) => request.body.stream), [true, false]);
  });

  test('when the step is cancelled mid-stream, then it ends cancelled with its partial text and the model request is dropped', async () => {
    const before = server.requests.length;
    const frames: Frame[] = [delta({ content: 'so far' }), { delayMs: 10_000 }, delta({ content: ' never' }, 'stop')];
    scripts.set('cancelled', () => ({ kind: 'stream', frames }));
    const received: StreamEvent[] = [];
    const started = (environment: MockActivityEnvironment) => {
      const waitForText = setInterval(() => {
        if (received.some((event) => event.event === 'text.delta')) {
          clearInterval(waitForText);
          environment.cancel();
        }
      }, 5);
    };
    await assert.rejects(runModel('cancelled', { received, started }), (error: unknown) => {
      assert.ok(error instanceof CancelledFailure, `a CancelledFailure, not ${String(error)}`);
      assert.deepEqual(error.details, [{ partialText: 'so far', attempt: 1 }]);
      return true;
    });
    const request = server.requests[before]!;
    for (let waited = 0; !request.aborted && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(request.aborted, true, 'the model server saw the client go away');
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
