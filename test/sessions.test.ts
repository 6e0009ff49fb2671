import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { noDelay, textFrames } from '../src/demo-model/chunks';
import { demoReply } from '../src/demo-model/demo-script';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import type { ChatMessage } from '../src/shared/run-types';
import { trimContext } from '../src/workflows/session-context';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Multi-turn sessions: each message its own run that sees the earlier turns.

function reply(request: ChatRequest): Reply {
  const last = request.messages.at(-1)!;
  if (last.role === 'user' && last.content?.startsWith('slow')) {
    return { kind: 'stream', frames: textFrames(request.model, 'a slow answer '.repeat(20), { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
  }
  if (last.role === 'user' && last.content?.startsWith('remember')) {
    const users = request.messages.filter((message) => message.role === 'user').map((message) => message.content);
    return { kind: 'stream', frames: textFrames(request.model, `I see ${users.length} messages: ${users.join(' / ')}`, noDelay) };
  }
  return demoReply(request, noDelay);
}

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let small: TestStack;

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, reply);
  small = await startTestStack(environment, reply, { session: { contextChars: 1000, historyLimit: 30 } });
});

after(async () => {
  await stack?.close();
  await small?.close();
  await environment?.teardown();
});

async function say(target: TestStack, sessionId: string, input: string) {
  const sent = await target.post(`/v1/sessions/${sessionId}/messages`, { input });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const { events } = await readSse(`${target.url}${sent.body.links.events}`);
  return { runId: sent.body.runId as string, output: events.at(-1)!.data.output as string, events };
}

describe('sessions', () => {
  test('when a conversation has several turns, then each is its own run, sees the earlier ones, and the session lists them', async () => {
    const created = await stack.post('/v1/sessions', { system: 'Be brief.' });
    assert.equal(created.status, 201);
    const { sessionId } = created.body;
    const first = await say(stack, sessionId, 'What is 6*7?');
    assert.equal(first.output, 'I used the calculator: 6*7 = 42.');
    const second = await say(stack, sessionId, 'remember what I asked?');
    assert.equal(second.output, 'I see 2 messages: What is 6*7? / remember what I asked?');
    const sent = stack.model.requests.at(-1)!.body.messages;
    assert.deepEqual(sent.map((message) => message.role), ['system', 'user', 'assistant', 'tool', 'assistant', 'user'], 'the tool call and its result came along');
    const session = await stack.get(`/v1/sessions/${sessionId}`);
    assert.deepEqual(session.body.turns.map((turn: { runId: string }) => turn.runId), [first.runId, second.runId]);
    assert.deepEqual(session.body.turns.map((turn: { status: string }) => turn.status), ['completed', 'completed']);
    assert.equal(session.body.turnCount, 2);
  });

  test('when a message comes while a turn runs, then it is refused with 409', async () => {
    const { sessionId } = (await stack.post('/v1/sessions', {})).body;
    const sent = await stack.post(`/v1/sessions/${sessionId}/messages`, { input: 'slow one' });
    const again = await stack.post(`/v1/sessions/${sessionId}/messages`, { input: 'hurry' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'turn_in_progress');
    await environment.client.workflow.getHandle(sent.body.runId).result();
  });

  test('when the session grows past its history limit, then it continues as new and the conversation goes on, trimmed to its budget', async () => {
    const { sessionId } = (await small.post('/v1/sessions', {})).body;
    for (let i = 1; i <= 8; i++) await say(small, sessionId, `remember ${i} ${'x'.repeat(150)}`);
    const last = await say(small, sessionId, 'remember the end');
    const seen = Number(/I see (\d+) messages/.exec(last.output)![1]);
    assert.ok(seen < 9 && seen >= 2, `older turns were trimmed to the budget (saw ${seen} of 9)`);
    assert.match(last.output, /remember 8 x+ \/ remember the end$/, 'the newest turns are kept');
    const session = await small.get(`/v1/sessions/${sessionId}`);
    assert.ok(session.body.generation >= 1, `the session continued as new (generation ${session.body.generation})`);
    assert.equal(session.body.turnCount, 9);
    assert.equal(session.body.turns.length, 9, 'turn summaries are carried over');
  });

  test('when a session or its input is bad, then clear 4xx errors', async () => {
    assert.equal((await stack.get('/v1/sessions/ses_nope')).status, 404);
    assert.equal((await stack.post('/v1/sessions/ses_nope/messages', { input: 'hi' })).body.error.code, 'session_not_found');
    assert.equal((await stack.post('/v1/sessions', { tools: ['teleport'] })).status, 400);
    const { sessionId } = (await stack.post('/v1/sessions', {})).body;
    assert.equal((await stack.post(`/v1/sessions/${sessionId}/messages`, { input: '' })).status, 400);
    assert.equal((await stack.post(`/v1/sessions/${sessionId}/messages`, { text: 'hi' })).status, 400);
  });
});

describe('context trimming', () => {
  test('when the conversation exceeds the budget, then whole turns are dropped oldest first and the newest is always kept', () => {
    const turn = (n: number, size: number): ChatMessage[] => [
      { role: 'user', content: `q${n}`.padEnd(size, '.') },
      { role: 'assistant', content: null, tool_calls: [{ id: `c${n}`, type: 'function', function: { name: 'calculator', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: `c${n}`, content: 'r' },
      { role: 'assistant', content: 'a' },
    ];
    const messages = [...turn(1, 100), ...turn(2, 100), ...turn(3, 100)];
    const kept = trimContext(messages, 400);
    assert.deepEqual(kept.filter((message) => message.role === 'user').map((message) => message.content!.slice(0, 2)), ['q2', 'q3']);
    assert.equal(kept.length, 8, 'tool calls keep their results');
    assert.equal(trimContext(turn(9, 5000), 10).length, 4, 'the newest turn is kept even if over budget');
  });
});
