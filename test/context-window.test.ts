import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens as cl100kCount } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200kCount } from 'gpt-tokenizer/encoding/o200k_base';
import { cachedCount } from '../src/activities/context/count-cache';
import { defaultReserveTokens, fitContext, messageTokens, tokenCounterFor, type FitContextResult } from '../src/activities/context/index';
import type { ChatMessage } from '../src/shared/run-types';

const estimated = tokenCounterFor('scripted');
const toolNames = ['read_file', 'http_get', 'list_files', 'calculator'];

// Text that tokenizes like real tool output (code, prose, JSON), different for every seed.
function sampleText(characters: number, seed: number): string {
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const words = 'the value return function const if else for of to from import export class result error file path data index count model token context window message tool call'.split(' ');
  const word = () => words[Math.floor(next() * words.length)]!;
  let text = '';
  while (text.length < characters) {
    const kind = next();
    if (kind < 0.4) text += `  const ${word()}${Math.floor(next() * 1000)} = ${Math.floor(next() * 1e6)};\n`;
    else if (kind < 0.7) text += Array.from({ length: 12 }, word).join(' ') + '.\n';
    else text += JSON.stringify({ id: Math.floor(next() * 1e9).toString(36), name: word(), score: next() }) + '\n';
  }
  return text.slice(0, characters);
}

/** System, task, then `steps` assistant messages with one tool call each and its result. */
function conversation(steps: number, resultCharacters: number, thinkingCharacters = 0): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a careful agent.' },
    { role: 'user', content: 'Summarize the repository.' },
  ];
  for (let step = 1; step <= steps; step++) {
    const name = toolNames[step % toolNames.length]!;
    messages.push({
      role: 'assistant',
      content: thinkingCharacters > 0 ? `step ${step} `.padEnd(thinkingCharacters, '.') : null,
      tool_calls: [{ id: `call-${step}`, type: 'function', function: { name, arguments: `{"step":${step}}` } }],
    });
    messages.push({ role: 'tool', tool_call_id: `call-${step}`, content: `${step}:`.padEnd(resultCharacters, 'x') });
  }
  return messages;
}

const promptTokens = (messages: ChatMessage[]) => messages.reduce((sum, message) => sum + messageTokens(message, estimated), 3);

/** Every tool result follows its own assistant message, and every tool call has its result. */
function assertPaired(messages: ChatMessage[]) {
  let waiting = new Set<string>();
  for (const message of messages) {
    if (message.role === 'tool') {
      assert.ok(waiting.delete(message.tool_call_id), `tool result ${message.tool_call_id} has no assistant message just before it`);
      continue;
    }
    assert.equal(waiting.size, 0, `tool calls ${[...waiting].join(', ')} lost their results`);
    waiting = new Set(message.role === 'assistant' ? (message.tool_calls ?? []).map((call) => call.id) : []);
  }
  assert.equal(waiting.size, 0, `tool calls ${[...waiting].join(', ')} lost their results`);
}

const isNote = (message: ChatMessage) => message.role === 'tool' && message.content.startsWith('[left out to fit the context window');

test('when the model is an OpenAI model, then counts match its encoding and differ from the estimate', () => {
  const text = sampleText(20_000, 7);
  for (const model of ['gpt-4o', 'gpt-4o-mini', 'openai/gpt-4.1', 'gpt-5.1', 'o3-mini', 'chatgpt-4o-latest']) {
    const counter = tokenCounterFor(model);
    assert.deepEqual([counter.encoding, counter.estimate], ['o200k_base', false], model);
    assert.equal(counter.count(text), o200kCount(text), model);
  }
  for (const model of ['gpt-4', 'gpt-4-turbo', 'gpt-3.5-turbo']) {
    const counter = tokenCounterFor(model);
    assert.equal(counter.encoding, 'cl100k_base', model);
    assert.equal(counter.count(text), cl100kCount(text), model);
  }
  assert.notEqual(tokenCounterFor('gpt-4o').count(text), estimated.count(text));
});

test('when a text holds special tokens, then they are counted as plain text instead of throwing', () => {
  assert.ok(tokenCounterFor('gpt-4o').count('see <|endoftext|> and <|im_start|>') > 5);
});

test('when the model is not an OpenAI model, then counts are the stated estimate', () => {
  for (const model of ['llama3.2', 'mistral', 'demo', 'scripted', 'ollama/qwen2.5', 'o1x']) {
    const counter = tokenCounterFor(model);
    assert.equal(counter.estimate, true, model);
    assert.equal(counter.count('abcdefg'), 3, model);
  }
});

test('when a 150 KB text is counted, then it is fast (time printed)', () => {
  const counter = tokenCounterFor('gpt-4o');
  const texts = Array.from({ length: 10 }, (_, index) => sampleText(150 * 1024, 100 + index));
  const times = texts.map((text) => {
    const started = performance.now();
    counter.count(text);
    return performance.now() - started;
  });
  const copy = JSON.parse(JSON.stringify(texts[0])) as string;
  const again = performance.now();
  counter.count(copy);
  const cached = performance.now() - again;
  times.sort((a, b) => a - b);
  console.log(`counting 150 KB with o200k_base: median ${times[5]!.toFixed(1)} ms, slowest ${times[9]!.toFixed(1)} ms; the same text again, deserialized: ${cached.toFixed(2)} ms`);
});

test('when the same long text arrives again as a new string, then it is not tokenized again', () => {
  let tokenized = 0;
  const count = cachedCount((text) => (tokenized++, text.length), { maxEntries: 2 });
  const text = sampleText(5000, 1);
  assert.equal(count(text), 5000);
  assert.equal(count(JSON.parse(JSON.stringify(text)) as string), 5000);
  assert.equal(tokenized, 1);
  assert.equal(count(text.slice(0, -1) + '#'), 5000, 'a different text of the same length is counted');
  assert.equal(tokenized, 2);
  count(sampleText(5000, 2));
  count(sampleText(5000, 3));
  count(text);
  assert.equal(tokenized, 5, 'the least recently used text was forgotten');
});

test('when the conversation fits, then nothing is trimmed and the report is undefined', () => {
  const messages = conversation(3, 300);
  const result = fitContext(messages, { maxTokens: 128_000, taskIndex: 1, counter: estimated });
  assert.equal(result.fits, true);
  assert.equal(result.report, undefined);
  assert.equal(result.messages.length, messages.length);
  result.messages.forEach((message, index) => assert.equal(message, messages[index]));
});

test('when tool results must go, then the oldest are replaced first by a note naming the tool', () => {
  const messages = conversation(6, 3000);
  const result = fitContext(messages, { maxTokens: promptTokens(messages) - 1500, reserveTokens: 0, taskIndex: 1, counter: estimated });
  assert.equal(result.fits, true);
  assert.equal(result.messages.length, messages.length);
  const tools = result.messages.filter((message) => message.role === 'tool');
  assert.deepEqual(tools.map(isNote), [true, true, false, false, false, false]);
  assert.equal(tools[0]!.content, '[left out to fit the context window: a 3,000-character result of http_get; call the tool again if you need it]');
  assert.match(tools[1]!.content, /result of list_files;/);
  assert.equal(tools[0]!.tool_call_id, 'call-1');
  assert.deepEqual(result.report && [result.report.toolResultsLeftOut, result.report.messagesLeftOut, result.report.estimate], [2, 0, true]);
  assert.ok(result.report!.tokensAfter <= result.report!.maxTokens && result.report!.tokensAfter < result.report!.tokensBefore);
});

test('when notes are not enough, then the oldest whole groups are dropped and system, task and newest are kept', () => {
  const messages = conversation(10, 3000, 3000);
  const result = fitContext(messages, { maxTokens: 6000, reserveTokens: 500, taskIndex: 1, counter: estimated });
  assert.equal(result.fits, true);
  assert.ok(result.report!.messagesLeftOut > 0);
  assert.deepEqual(result.messages.slice(0, 2), messages.slice(0, 2));
  assert.deepEqual(result.messages.slice(-2), messages.slice(-2));
  // What stays after the task is the newest steps, in order.
  const steps = result.messages.slice(2).filter((message) => message.role === 'assistant').map((message) => message.tool_calls![0]!.id);
  assert.deepEqual(steps, Array.from({ length: steps.length }, (_, index) => `call-${10 - steps.length + 1 + index}`));
  assertPaired(result.messages);
});

test('when the context is fitted at any size, then a tool call is never separated from its result', () => {
  const messages = conversation(12, 2000, 400);
  // Several calls in one assistant message as well.
  messages.push(
    { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'read_file', arguments: '{}' } }, { id: 'b', type: 'function', function: { name: 'http_get', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'a', content: 'y'.repeat(2000) },
    { role: 'tool', tool_call_id: 'b', content: 'z'.repeat(2000) },
    { role: 'user', content: 'and now?' },
  );
  for (let maxTokens = 500; maxTokens <= promptTokens(messages) + 100; maxTokens += 250) {
    const result = fitContext(messages, { maxTokens, reserveTokens: 0, taskIndex: 1, counter: estimated });
    assertPaired(result.messages);
    assert.deepEqual(result.messages.slice(0, 2), messages.slice(0, 2), `system and task kept at ${maxTokens}`);
    assert.equal(result.messages.at(-1), messages.at(-1), `newest kept at ${maxTokens}`);
  }
});

test('when older turns come before the task, then system and task are kept while older groups go first', () => {
  const history = conversation(4, 3000, 3000).slice(1);
  const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...history, ...conversation(3, 3000, 3000).slice(1)];
  const taskIndex = 1 + history.length;
  const result = fitContext(messages, { maxTokens: 5000, reserveTokens: 0, taskIndex, counter: estimated });
  assert.equal(result.fits, true);
  assert.equal(result.messages[0], messages[0]);
  assert.ok(result.messages.includes(messages[taskIndex]!));
  assert.ok(!result.messages.includes(history[1]!), 'the oldest turn went first');
  assertPaired(result.messages);
});

test('when even system, task and newest group do not fit, then fits is false with the figures', () => {
  const messages = conversation(3, 3000);
  messages.push({ role: 'assistant', content: null, tool_calls: [{ id: 'big', type: 'function', function: { name: 'read_file', arguments: '{}' } }] });
  messages.push({ role: 'tool', tool_call_id: 'big', content: 'x'.repeat(300_000) });
  const result: FitContextResult = fitContext(messages, { maxTokens: 32_000, toolsTokens: 500, taskIndex: 1, counter: estimated });
  assert.equal(result.fits, false);
  assert.equal(result.report!.maxTokens, 32_000);
  assert.ok(result.report!.tokensAfter > 32_000 - defaultReserveTokens(32_000) && result.report!.tokensAfter < result.report!.tokensBefore);
  assert.equal(result.messages.at(-1), messages.at(-1));
});

test('when the context is fitted, then the input array and its messages are not changed', () => {
  const messages = conversation(8, 3000, 1000);
  const before = structuredClone(messages);
  for (const message of messages) Object.freeze(message);
  Object.freeze(messages);
  fitContext(messages, { maxTokens: 3000, reserveTokens: 0, taskIndex: 1, counter: estimated });
  assert.deepEqual(messages, before);
});

test('when the reserve is not given, then it is 4096 tokens or an eighth of a small window', () => {
  assert.equal(defaultReserveTokens(128_000), 4096);
  assert.equal(defaultReserveTokens(8192), 1024);
});

test('when a run of 200 messages with 150 KB tool results is fitted into 128k tokens at every step, then it is quick (times printed)', () => {
  const counter = tokenCounterFor('gpt-4o');
  const messages: ChatMessage[] = conversation(0, 0);
  const stepTimes: number[] = [];
  let result: FitContextResult | undefined;
  for (let step = 1; messages.length < 200; step++) {
    messages.push(
      { role: 'assistant', content: null, tool_calls: [{ id: `call-${step}`, type: 'function', function: { name: 'read_file', arguments: `{"path":"src/${step}.ts"}` } }] },
      { role: 'tool', tool_call_id: `call-${step}`, content: sampleText(150 * 1024, step) },
    );
    const started = performance.now();
    result = fitContext(messages, { maxTokens: 128_000, taskIndex: 1, counter });
    stepTimes.push(performance.now() - started);
  }
  assert.equal(messages.length, 200);
  assert.equal(result!.fits, true);
  assert.ok(result!.report!.tokensAfter <= 128_000 - 4096);
  assertPaired(result!.messages);
  // What an activity sees: the same conversation, freshly deserialized (new objects and strings).
  const copy = structuredClone(messages);
  const started = performance.now();
  const again = fitContext(copy, { maxTokens: 128_000, taskIndex: 1, counter });
  const copyTime = performance.now() - started;
  assert.deepEqual(again.report, result!.report);
  const total = stepTimes.reduce((sum, time) => sum + time, 0);
  console.log(
    `fitting 200 messages (99 results of 150 KB, ${result!.report!.tokensBefore.toLocaleString('en-US')} tokens) into 128k: ` +
      `${(total / stepTimes.length).toFixed(1)} ms a step on average (one new result counted each step), last step ${stepTimes.at(-1)!.toFixed(1)} ms, ` +
      `same conversation deserialized ${copyTime.toFixed(1)} ms; kept ${result!.messages.length} messages, ${result!.report!.toolResultsLeftOut} results left out`,
  );
});
