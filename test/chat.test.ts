import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AbstractChat, DefaultChatTransport, readUIMessageStream, type ChatState, type ChatStatus, type UIMessageChunk } from 'ai';
import { z } from 'zod';
import { ToolInputError, ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { resolveAccess } from '../src/api/auth/access';
import { loadConfig } from '../src/config';
import type { ChatUIMessage } from '../src/api/chat-chunks';
import { chatSessionId } from '../src/api/chat-request';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The AI SDK's useChat protocol, read by the `ai` package's own client code: DefaultChatTransport
// (what useChat sends and how it resumes), readUIMessageStream and AbstractChat (the state
// useChat keeps), against the real API, worker and Temporal, with a scripted model.

const acmeKey = 'acme-chat-key-0123456789abcdef';
const globexKey = 'globex-chat-key-0123456789abcdef';
const paced = { firstTokenDelayMs: 20, tokenDelayMs: 15 };
const attempts = new Map<string, number>();

/** The model's behaviour follows the first word of the turn's message. */
function reply(request: ChatRequest): Reply {
  const users = request.messages.filter((message) => message.role === 'user').map((message) => message.content ?? '');
  const input = users.at(-1) ?? '';
  const count = (attempts.get(input) ?? 0) + 1;
  attempts.set(input, count);
  const text = (value: string, pace = paced): Reply => ({ kind: 'stream', frames: textFrames(request.model, value, pace) });
  switch (input.split(' ')[0]) {
    case 'tools': {
      const last = request.messages.at(-1)!;
      if (last.role === 'tool') {
        const results = request.messages.filter((message) => message.role === 'tool').map((message) => message.content);
        return text(`The tools said: ${results.join(' and ')}. That is all.`);
      }
      const calls = [
        { id: 'call_gauge', name: 'gauge', arguments: JSON.stringify({ dial: 'north' }) },
        { id: 'call_broken', name: 'broken', arguments: '{}' },
      ];
      return { kind: 'stream', frames: toolCallFrames(request.model, calls, paced) };
    }
    case 'guarded': {
      const last = request.messages.at(-1)!;
      if (last.role === 'tool') return text(`The vault said: ${last.content}.`);
      return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_vault', name: 'vault', arguments: JSON.stringify({ door: 3 }) }], paced) };
    }
    case 'system':
      return text(`My instructions: ${request.messages.find((message) => message.role === 'system')?.content ?? 'none'}`);
    case 'remember':
      return text(`Noted: ${input.slice('remember '.length)}.`);
    case 'recall':
      return text(`Earlier you said: ${users.slice(0, -1).join(' / ')}.`);
    case 'slow':
      return text('word '.repeat(80).trim(), { firstTokenDelayMs: 0, tokenDelayMs: 25 });
    case 'flaky':
      if (count === 1) {
        return {
          kind: 'stream',
          frames: [...textFrames(request.model, 'This partial text is discarded', paced).slice(0, 6), { chunk: { error: { message: 'overloaded', type: 'server_error', code: 503 } } }],
          done: false,
        };
      }
      return text('The second attempt worked.');
    case 'fail':
      return { kind: 'json', status: 401, body: { error: { message: 'no such key', type: 'invalid_request_error' } } };
    default:
      return text('ok');
  }
}

const gauge: ToolDefinition<{ dial: string }> = {
  name: 'gauge',
  description: 'Reads a gauge, slowly, reporting progress.',
  parameters: z.object({ dial: z.string() }),
  idempotent: true,
  concurrencyKey: null,
  async run({ dial }, context) {
    for (let tick = 1; tick <= 3; tick++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      context.progress({ message: `reading ${tick} of 3`, fraction: tick / 3 });
      context.output(`tick ${tick}\n`);
    }
    return `${dial} reads 42`;
  },
};

const broken: ToolDefinition<Record<string, never>> = {
  name: 'broken',
  description: 'Always fails.',
  parameters: z.object({}),
  idempotent: true,
  concurrencyKey: null,
  run() {
    throw new ToolInputError('the gauge is broken');
  },
};

const vault: ToolDefinition<{ door: number }> = {
  name: 'vault',
  description: 'Opens a door, once a human says so.',
  parameters: z.object({ door: z.number() }),
  idempotent: true,
  needsApproval: true,
  concurrencyKey: null,
  run: ({ door }) => `door ${door} is open`,
};

/** What useChat keeps in React state, kept in memory: the same AbstractChat does the rest. */
class NodeChat extends AbstractChat<ChatUIMessage> {
  constructor(init: { id: string; messages?: ChatUIMessage[]; transport: DefaultChatTransport<ChatUIMessage> }) {
    const state: ChatState<ChatUIMessage> = {
      status: 'ready' as ChatStatus,
      error: undefined,
      messages: init.messages ?? [],
      pushMessage: (message) => void state.messages.push(message),
      popMessage: () => void state.messages.pop(),
      replaceMessage: (index, message) => void (state.messages[index] = message),
      snapshot: (thing) => structuredClone(thing),
    };
    super({ id: init.id, transport: init.transport, state });
  }
}

let temporal: TestTemporal;
let stack: TestStack;

before(async () => {
  temporal = await startTemporal();
  const config = loadConfig({});
  stack = await startTestStack(temporal, reply, {
    tools: new ToolRegistry([gauge, broken, vault]),
    access: resolveAccess({ mode: 'auto', keys: `acme:${acmeKey},globex:${globexKey}`, host: '127.0.0.1' }),
    limits: { ...config.limits, maxInputChars: 1000 },
    corsOrigins: ['https://app.example'],
  });
});

after(async () => {
  await stack?.close();
  await temporal?.teardown();
});

/** The responses' headers, as the transport got them. */
const seenHeaders: Headers[] = [];
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  seenHeaders.push(response.headers);
  return response;
};

const transport = (key: string | null = acmeKey) =>
  new DefaultChatTransport<ChatUIMessage>({ api: `${stack.url}/v1/chat`, headers: key ? { authorization: `Bearer ${key}` } : {}, fetch: recordingFetch });

const userMessage = (text: string): ChatUIMessage => ({ id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] });

/** The UI message a stream builds (readUIMessageStream), with every chunk and error it carried. */
async function readChat(stream: ReadableStream<UIMessageChunk>) {
  const [forMessages, forChunks] = stream.tee();
  const chunks: UIMessageChunk[] = [];
  const reader = forChunks.getReader();
  const collecting = (async () => {
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
  })();
  const errors: Error[] = [];
  let message: ChatUIMessage | undefined;
  for await (const snapshot of readUIMessageStream<ChatUIMessage>({ stream: forMessages, onError: (error) => errors.push(error as Error) })) message = snapshot;
  await collecting;
  assert.ok(message, `a message from ${chunks.length} chunks`);
  return { message, chunks, errors };
}

/** The chunks of a stream up to the first that `stop` picks; then the reader goes, as a closed page does. */
async function readUntil(stream: ReadableStream<UIMessageChunk>, stop: (chunk: UIMessageChunk) => boolean) {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks.push(next.value);
    if (stop(next.value)) break;
  }
  await reader.cancel();
  return chunks;
}

async function send(chatId: string, messages: ChatUIMessage[], body?: object) {
  return readChat(await transport().sendMessages({ chatId, messages, trigger: 'submit-message', messageId: undefined, abortSignal: undefined, ...(body ? { body } : {}) }));
}

const textOf = (message: ChatUIMessage) =>
  message.parts
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('');

/** The run's transcript as the runs API has it: the text of its model steps. */
async function transcript(runId: string) {
  const run = await callApi(stack.url, 'GET', `/v1/runs/${runId}`, acmeKey);
  assert.equal(run.status, 200, JSON.stringify(run.body));
  return { run: run.body, text: (run.body.steps as Array<{ kind: string; text?: string }>).filter((step) => step.kind === 'llm').map((step) => step.text ?? '').join('') };
}

describe('POST /v1/chat', () => {
  test('when useChat sends a message, then one assistant message has the run text, tool parts with input and output, progress data and usage', async () => {
    const chatId = `chat-${randomUUID()}`;
    const { message, chunks, errors } = await send(chatId, [userMessage('tools please')]);
    assert.deepEqual(errors, []);
    assert.equal(message.role, 'assistant');
    const runId = message.metadata!.runId;
    assert.equal(message.id, runId, 'the message id is the run id');
    assert.equal(seenHeaders.at(-1)?.get('x-vercel-ai-ui-message-stream'), 'v1');

    const { run, text } = await transcript(runId);
    assert.equal(run.status, 'completed');
    assert.equal(textOf(message), text);
    assert.match(text, /^The tools said: north reads 42 and /);

    const gaugePart = message.parts.find((part) => part.type === 'tool-gauge') as any;
    assert.equal(gaugePart.toolCallId, 'call_gauge');
    assert.equal(gaugePart.state, 'output-available');
    assert.deepEqual(gaugePart.input, { dial: 'north' });
    assert.equal(gaugePart.output, 'north reads 42');
    const brokenPart = message.parts.find((part) => part.type === 'tool-broken') as any;
    assert.equal(brokenPart.state, 'output-error');
    assert.match(brokenPart.errorText, /the gauge is broken/);
    // A model step with its tool calls (in the order they started), then the answer.
    const types = message.parts.map((part) => part.type);
    assert.deepEqual([types[0], ...types.slice(1, 3).sort(), ...types.slice(3)], ['step-start', 'tool-broken', 'tool-gauge', 'step-start', 'text']);

    // Progress and streamed output came live, as transient data parts.
    const progress = chunks.filter((chunk) => chunk.type === 'data-tool-progress') as Array<{ data: { callId: string; progress: { fraction: number } }; transient?: boolean }>;
    assert.ok(progress.length > 0, 'tool progress as data parts');
    assert.equal(progress[0]!.data.callId, 'call_gauge');
    assert.ok(progress.every((chunk) => chunk.transient));
    const output = chunks.filter((chunk) => chunk.type === 'data-tool-output').map((chunk: any) => chunk.data.delta).join('');
    assert.equal(output, 'tick 1\ntick 2\ntick 3\n');

    // Usage: exact at the end, the run's own figures.
    assert.equal(message.metadata!.status, 'completed');
    assert.deepEqual(message.metadata!.usage, run.usage);
    assert.ok(message.metadata!.usage!.totalTokens > 0);
    assert.equal(message.metadata!.sessionId, chatSessionId('acme', chatId));
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'stop' });
  });

  test('when a second message comes in the same chat, then its turn sees the first (one session per chat and tenant)', async () => {
    const chatId = `chat-${randomUUID()}`;
    const first = userMessage('remember the word kumquat');
    const answer = await send(chatId, [first]);
    assert.equal(textOf(answer.message), 'Noted: the word kumquat.');
    const second = await send(chatId, [first, answer.message, userMessage('recall please')]);
    assert.equal(textOf(second.message), 'Earlier you said: remember the word kumquat.');
    assert.notEqual(second.message.id, answer.message.id, 'each turn is its own run and message');

    const sessionId = second.message.metadata!.sessionId;
    const session = await callApi(stack.url, 'GET', `/v1/sessions/${sessionId}`, acmeKey);
    assert.deepEqual(
      session.body.turns.map((turn: { runId: string }) => turn.runId),
      [answer.message.id, second.message.id],
    );
    // The same chat id is another chat for another tenant: its session, and no access to this one.
    assert.equal((await callApi(stack.url, 'GET', `/v1/sessions/${sessionId}`, globexKey)).status, 404);
    const theirs = await readChat(
      await transport(globexKey).sendMessages({ chatId, messages: [userMessage('recall please')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined }),
    );
    assert.equal(textOf(theirs.message), 'Earlier you said: .');
  });

  test('when the transport sends only the latest message, with session settings in its body, then they apply', async () => {
    const latestOnly = new DefaultChatTransport<ChatUIMessage>({
      api: `${stack.url}/v1/chat`,
      headers: { authorization: `Bearer ${acmeKey}` },
      prepareSendMessagesRequest: ({ id, messages }) => ({ body: { id, message: messages.at(-1), system: 'Answer in haiku.' } }),
    });
    const stream = await latestOnly.sendMessages({ chatId: `chat-${randomUUID()}`, messages: [userMessage('earlier'), userMessage('system prompt?')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined });
    const { message } = await readChat(stream);
    assert.equal(textOf(message), 'My instructions: Answer in haiku.');
  });

  test('when a model step is retried, then its partial text is reset and the message text is the transcript, once', async () => {
    const { message, chunks } = await send(`chat-${randomUUID()}`, [userMessage('flaky model')]);
    const { text } = await transcript(message.id);
    assert.equal(text, 'The second attempt worked.');
    assert.equal(textOf(message), text);
    assert.equal(message.parts.filter((part) => part.type === 'text').length, 1);
    const types = chunks.map((chunk) => chunk.type);
    assert.ok(types.includes('reset-step'), 'the discarded attempt is reset');
    // Its text came live before the reset: the client saw it and was told to drop it.
    assert.ok(types.indexOf('text-delta') < types.indexOf('reset-step'), types.join(','));
  });

  test('when a call needs approval, then a data part asks, the decision updates it in place, and the call runs', async () => {
    const stream = await transport().sendMessages({ chatId: `chat-${randomUUID()}`, messages: [userMessage('guarded please')], trigger: 'submit-message', messageId: undefined, abortSignal: undefined });
    let message: ChatUIMessage | undefined;
    let decided = false;
    for await (const snapshot of readUIMessageStream<ChatUIMessage>({ stream })) {
      message = snapshot;
      const request = snapshot.parts.find((part) => part.type === 'data-approval');
      if (request && !decided) {
        decided = true;
        assert.equal(request.data.status, 'requested');
        assert.deepEqual(request.data.input, { door: 3 });
        const decision = await callApi(stack.url, 'POST', request.data.decide, acmeKey, { approve: true });
        assert.equal(decision.status, 200, JSON.stringify(decision.body));
      }
    }
    assert.ok(message && decided);
    const approvals = message.parts.filter((part) => part.type === 'data-approval');
    assert.equal(approvals.length, 1, 'one part, updated in place');
    assert.equal(approvals[0]!.data.status, 'approved');
    const call = message.parts.find((part) => part.type === 'tool-vault') as { state: string; output: unknown };
    assert.equal(call.state, 'output-available');
    assert.equal(call.output, 'door 3 is open');
    assert.equal(textOf(message), 'The vault said: door 3 is open.');
  });

  test('when the run fails, then the message says so in its metadata and the stream has an error part', async () => {
    const { message, chunks, errors } = await send(`chat-${randomUUID()}`, [userMessage('fail now')]);
    assert.equal(message.metadata!.status, 'failed');
    assert.equal(message.metadata!.error?.code, 'model_step_failed');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /^model_step_failed: /);
    assert.deepEqual(chunks.at(-1), { type: 'finish', finishReason: 'error' });
  });

  test('when the body is not what the transport sends, or the key is missing, then 4xx with {error: {code, message}}', async () => {
    const fails = async (promise: Promise<unknown>) => {
      const error = (await promise.then(() => assert.fail('expected a refusal'), (caught: unknown) => caught)) as { statusCode: number; responseBody: string };
      return { status: error.statusCode, body: JSON.parse(error.responseBody) as { error: { code: string; message: string } } };
    };
    const options = { chatId: `chat-${randomUUID()}`, trigger: 'submit-message' as const, messageId: undefined, abortSignal: undefined };
    const unauthorized = await fails(transport(null).sendMessages({ ...options, messages: [userMessage('hello')] }));
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.body.error.code, 'unauthorized');
    const assistantLast = await fails(transport().sendMessages({ ...options, messages: [{ id: 'a', role: 'assistant', parts: [{ type: 'text', text: 'hi' }] }] }));
    assert.equal(assistantLast.status, 400);
    assert.equal(assistantLast.body.error.code, 'invalid_request');
    const regenerate = await fails(transport().sendMessages({ ...options, trigger: 'regenerate-message', messages: [userMessage('hello')] }));
    assert.equal(regenerate.body.error.code, 'unsupported_trigger');
    const tooLong = await fails(transport().sendMessages({ ...options, messages: [userMessage('x'.repeat(1001))] }));
    assert.equal(tooLong.status, 413);
    const unknownField = await fails(transport().sendMessages({ ...options, messages: [userMessage('hello')], body: { temperature: 2 } }));
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /temperature/);

    for (const body of [{}, { id: 'x', messages: [] }, { id: '', messages: [userMessage('hi')] }, { id: 'x', messages: 'hi' }, { id: 'x', messages: [{ role: 'user' }] }, { id: 'x', messages: [userMessage('  ')] }]) {
      const response = await callApi(stack.url, 'POST', '/v1/chat', acmeKey, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, 'invalid_request');
      assert.equal(typeof response.body.error.message, 'string');
    }
    assert.equal((await callApi(stack.url, 'GET', '/v1/chat/anything/stream')).status, 401);
    assert.equal((await callApi(stack.url, 'GET', `/v1/chat/${'x'.repeat(201)}/stream`, acmeKey)).status, 400);

    // A browser page of an allowed origin may call it, as any /v1 route.
    const preflight = await fetch(`${stack.url}/v1/chat`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  });
});

describe('GET /v1/chat/:chatId/stream (resume)', () => {
  test('when HEAD asks for a running turn\'s stream, then its headers come at once, not when the run ends', async () => {
    const chatId = `chat-${randomUUID()}`;
    const headers = { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json' };
    // A turn that waits for a human: its stream stays open until someone decides.
    const sent = await fetch(`${stack.url}/v1/chat`, { method: 'POST', headers, body: JSON.stringify({ id: chatId, messages: [userMessage('guarded door')], tools: ['vault'] }) });
    assert.equal(sent.status, 200);
    await sent.body?.cancel();
    // Node sends no body for HEAD, and so held the headers back with it.
    const head = await fetch(`${stack.url}/v1/chat/${encodeURIComponent(chatId)}/stream`, { method: 'HEAD', headers, signal: AbortSignal.timeout(3000) });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
  });

  test('when the page reloads mid-run, then the transport resumes the same message whole, and after the run there is nothing to resume', async () => {
    const chatId = `chat-${randomUUID()}`;
    const abort = new AbortController();
    const first = await transport().sendMessages({ chatId, messages: [userMessage('slow answer')], trigger: 'submit-message', messageId: undefined, abortSignal: abort.signal });
    // The page goes away after a few words.
    const partial = await readUntil(first, (chunk) => chunk.type === 'text-delta');
    abort.abort();
    const runId = (partial[0] as { messageId: string }).messageId;
    assert.match(runId, /^run_/);

    // While it runs, the chat takes no other message, and another tenant has nothing to resume.
    const busy = await callApi(stack.url, 'POST', '/v1/chat', acmeKey, { id: chatId, messages: [userMessage('hello')] });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error.code, 'turn_in_progress');
    assert.equal((await callApi(stack.url, 'GET', `/v1/chat/${encodeURIComponent(chatId)}/stream`, globexKey)).status, 204);

    const resumed = await transport().reconnectToStream({ chatId });
    assert.ok(resumed, 'a running turn to resume');
    const { message } = await readChat(resumed);
    assert.equal(message.id, runId, 'the same message: useChat replaces it');
    const { text } = await transcript(runId);
    assert.equal(textOf(message), text);
    assert.equal(text, 'word '.repeat(80).trim());

    assert.equal(await transport().reconnectToStream({ chatId }), null, '204 once the run has ended');
    assert.equal(await transport().reconnectToStream({ chatId: `never-${randomUUID()}` }), null, '204 for a chat with no session');
  });

  test('when useChat resumes after a reload with the messages it had kept, then the assistant message is replaced, not added', async () => {
    const chatId = `chat-${randomUUID()}`;
    const before = new NodeChat({ id: chatId, transport: transport() });
    const sending = before.sendMessage({ text: 'slow again' });
    // Reload once some text has streamed: what the page had is all a new page gets.
    const streamed = () => before.messages.at(-1)?.role === 'assistant' && textOf(before.messages.at(-1)!).length >= 20;
    for (let waited = 0; !streamed(); waited += 20) {
      assert.ok(waited < 20_000, 'text streams');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const kept = structuredClone(before.messages);
    await before.stop();
    await sending;

    assert.ok(textOf(kept[1]!).length < 'word '.repeat(80).trim().length, 'the reload came mid-run');
    const after = new NodeChat({ id: chatId, messages: kept, transport: transport() });
    await after.resumeStream();
    assert.equal(after.status, 'ready');
    assert.equal(after.messages.length, 2, after.messages.map((message) => message.role).join(','));
    const [user, assistant] = after.messages as [ChatUIMessage, ChatUIMessage];
    assert.equal(user.id, kept[0]!.id);
    assert.equal(assistant.id, kept[1]!.id, 'the same assistant message, replaced');
    assert.equal(textOf(assistant), 'word '.repeat(80).trim());
    assert.equal(assistant.metadata?.status, 'completed');
  });
});
