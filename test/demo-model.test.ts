import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { noDelay } from '../src/demo-model/chunks';
import { demoResponder, findExpressions } from '../src/demo-model/demo-script';
import { startModelServer, type ModelServer } from '../src/demo-model/server';

let server: ModelServer;
let openai: OpenAI;
const calculator = { type: 'function' as const, function: { name: 'calculator', parameters: { type: 'object' } } };

before(async () => {
  server = await startModelServer(demoResponder(noDelay));
  openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(async () => server?.close());

test('when a question holds several expressions, then each is found', () => {
  assert.deepEqual(findExpressions('What is 12*7 and (3+4)/2?'), ['12*7', '(3+4)/2']);
  assert.deepEqual(findExpressions('no maths in 2024'), []);
});

test('when asked arithmetic with the calculator offered, then it streams one tool call per expression', async () => {
  const stream = await openai.chat.completions.create({
    model: 'demo',
    messages: [{ role: 'user', content: 'What is 12*7 and (3+4)/2?' }],
    tools: [calculator],
    stream: true,
    stream_options: { include_usage: true },
  });
  const calls: Record<number, { name: string; arguments: string }> = {};
  let finish: string | null = null;
  let usage: unknown = null;
  for await (const chunk of stream) {
    for (const fragment of chunk.choices[0]?.delta.tool_calls ?? []) {
      calls[fragment.index] ??= { name: '', arguments: '' };
      calls[fragment.index]!.name += fragment.function?.name ?? '';
      calls[fragment.index]!.arguments += fragment.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.deepEqual(Object.values(calls), [
    { name: 'calculator', arguments: '{"expression":"12*7"}' },
    { name: 'calculator', arguments: '{"expression":"(3+4)/2"}' },
  ]);
  assert.equal(finish, 'tool_calls');
  assert.ok(usage);
});

test('when tool results follow, then it answers with them; other inputs get a canned answer', async () => {
  const completion = await openai.chat.completions.create({
    model: 'demo',
    messages: [
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calculator', arguments: '{"expression":"2+2"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '4' },
    ],
  });
  assert.equal(completion.choices[0]!.message.content, 'I used the calculator: 2+2 = 4.');
  const canned = await openai.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hello' }] });
  assert.match(canned.choices[0]!.message.content!, /built-in demo model/);
});

test('when the demo model is paced, then its tokens are spread over time, not sent at once', async () => {
  const paced = await startModelServer(demoResponder({ firstTokenDelayMs: 0, tokenDelayMs: 20 }));
  try {
    const client = new OpenAI({ baseURL: paced.baseURL, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hello' }], stream: true });
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(Date.now());
    assert.ok(arrivals.length > 20);
    // Tokens arrive one after another: the span covers most of the scripted gaps.
    assert.ok(arrivals.at(-1)! - arrivals[0]! >= (arrivals.length - 1) * 20 * 0.5);
  } finally {
    await paced.close();
  }
});

test('when asked about several things at once, then it calls several tools in one message and sums up their results', async () => {
  const input = 'What is 12*7, wait 3 seconds and tell me the time in Asia/Tokyo';
  const offered = ['calculator', 'wait', 'current_time'].map((name) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } }));
  const first = await openai.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: input }], tools: offered });
  const calls = first.choices[0]!.message.tool_calls!.map((call) => ('function' in call ? [call.function.name, JSON.parse(call.function.arguments)] : []));
  assert.deepEqual(calls, [
    ['calculator', { expression: '12*7' }],
    ['wait', { seconds: 3 }],
    ['current_time', { timezone: 'Asia/Tokyo' }],
  ]);
  const ids = first.choices[0]!.message.tool_calls!.map((call) => call.id);
  const answer = await openai.chat.completions.create({
    model: 'demo',
    messages: [
      { role: 'user', content: input },
      first.choices[0]!.message,
      { role: 'tool', tool_call_id: ids[0]!, content: '84' },
      { role: 'tool', tool_call_id: ids[1]!, content: 'waited 3 s' },
      { role: 'tool', tool_call_id: ids[2]!, content: JSON.stringify({ local: 'Saturday 1 January 2000 at 09:00:00 GMT+9' }) },
    ],
  });
  assert.equal(answer.choices[0]!.message.content, 'I called 3 tools at once: 12*7 = 84; I waited 3 s; it is Saturday 1 January 2000 at 09:00:00 GMT+9.');
});
