import fc from 'fast-check';
import { toolCallScriptInput } from '../../src/demo-model/tool-call-script';
import { chatIds } from './parts';

// Request bodies: the valid ones of each route, the same mutated (wrong types, unknown fields,
// huge strings, nested junk), and bytes that are not JSON at all.

const input = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('What is 2+3?', 'hello', 'What is (1+2)*3?') }, fc.constantFrom('', ' '), fc.string({ maxLength: 20 }));

export const runBody = fc.record(
  {
    input,
    model: fc.constantFrom('scripted', 'other-model'),
    system: fc.string({ maxLength: 20 }),
    maxSteps: fc.integer({ min: 1, max: 5 }),
    maxTokens: fc.integer({ min: 1, max: 100_000 }),
    tools: fc.subarray(['calculator', 'delete_file']),
    contextTokens: fc.constantFrom(1024, 8192),
    cache: fc.boolean(),
    messages: fc.constant([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]),
  },
  { requiredKeys: ['input'] },
);
const sessionBody = fc.record(
  { system: fc.string({ maxLength: 20 }), model: fc.constant('scripted'), maxSteps: fc.integer({ min: 1, max: 5 }), maxTokens: fc.integer({ min: 1, max: 100_000 }), contextTokens: fc.constant(4096), cache: fc.boolean(), tools: fc.subarray(['calculator']) },
  { requiredKeys: [] },
);
const messageBody = fc.record({ input, maxSteps: fc.integer({ min: 1, max: 5 }), maxTokens: fc.integer({ min: 1, max: 100_000 }) }, { requiredKeys: ['input'] });
export const approvalBody = fc.record({ approve: fc.boolean(), reason: fc.string({ maxLength: 20 }) }, { requiredKeys: ['approve'] });
const base64 = (bytes: fc.Arbitrary<Uint8Array>) => bytes.map((value) => Buffer.from(value).toString('base64'));
/** Temporal's codec protocol: payloads with base64 metadata and data (ciphertext or junk, any encoding). */
const codecBody = fc.record({
  payloads: fc.array(
    fc.record(
      {
        metadata: fc.dictionary(fc.constantFrom('encoding', 'encryption-key-id', 'x'), fc.oneof(base64(fc.constantFrom(...['binary/encrypted', 'json/plain', 'new', 'gone'].map((text) => new TextEncoder().encode(text)))), base64(fc.uint8Array({ maxLength: 8 })))),
        data: base64(fc.uint8Array({ maxLength: 64 })),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 4 },
  ),
});

/** A chat turn's text: a question, a failing run, or a tool call that waits for approval (the chat's turn stays running). */
const chatInput = fc.oneof(
  { weight: 6, arbitrary: input },
  fc.constantFrom('fail', toolCallScriptInput(['delete_file', { path: 'a.txt' }])),
);
const uiPart = fc.oneof(
  { weight: 4, arbitrary: chatInput.map((text) => ({ type: 'text', text })) },
  fc.constantFrom({ type: 'step-start' }, { type: 'reasoning', text: 'hm' }, { type: 'file', url: 'data:,x', mediaType: 'text/plain' }, { type: 'text', text: 1 }, { type: 'text' }),
);
const uiMessage = (role: fc.Arbitrary<string>) => fc.record({ id: fc.stringMatching(/^[A-Za-z0-9]{1,16}$/), role, parts: fc.array(uiPart, { minLength: 1, maxLength: 3 }) });
const userMessage = uiMessage(fc.constant('user'));
/** What the AI SDK's DefaultChatTransport sends (the whole chat, or only its latest message), with a session's settings. */
const chatBody = fc
  .record(
    {
      id: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...chatIds) }, fc.string({ maxLength: 20 }), fc.constant('c'.repeat(201))),
      chat: fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.array(uiMessage(fc.constantFrom('user', 'assistant', 'system')), { maxLength: 2 }), userMessage).map(([earlier, latest]) => ({ messages: [...earlier, latest] })) },
        userMessage.map((message) => ({ message })),
      ),
      trigger: fc.oneof({ weight: 4, arbitrary: fc.constant('submit-message') }, fc.constant('regenerate-message')),
      messageId: fc.string({ maxLength: 10 }),
      model: fc.constant('scripted'),
      system: fc.string({ maxLength: 20 }),
      maxSteps: fc.integer({ min: 1, max: 5 }),
      maxTokens: fc.integer({ min: 1, max: 100_000 }),
      tools: fc.subarray(['calculator', 'delete_file']),
      contextTokens: fc.constant(4096),
      cache: fc.boolean(),
    },
    { requiredKeys: ['id', 'chat'] },
  )
  .map(({ chat, ...rest }) => ({ ...rest, ...chat }));
const validBody: fc.Arbitrary<Record<string, unknown>> = fc.oneof(runBody, sessionBody, messageBody, approvalBody, codecBody, chatBody);

/** The valid body of each route that takes one, as sent. */
export const validBodies = {
  run: runBody.map((body) => JSON.stringify(body)),
  session: sessionBody.map((body) => JSON.stringify(body)),
  message: messageBody.map((body) => JSON.stringify(body)),
  approval: approvalBody.map((body) => JSON.stringify(body)),
  codec: codecBody.map((body) => JSON.stringify(body)),
  chat: chatBody.map((body) => JSON.stringify(body)),
};

const huge = fc.constantFrom(1001, 70_000, 400_000, 2_200_000).map((length) => 'x'.repeat(length));
const nested = fc.constantFrom(50, 1000).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown);
export const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, -1, 0, 1.5, 1e308, '', ' ', [], {}, true, [{ role: 'tool' }], [{ role: 'user', content: 1 }], { approve: 'yes' }),
  huge,
  nested,
);
const field = fc.constantFrom('input', 'model', 'system', 'maxSteps', 'maxTokens', 'tools', 'contextTokens', 'cache', 'messages', 'approve', 'reason', 'id', 'message', 'trigger', 'messageId', 'extra', '__proto__', 'constructor');

/** A valid body with one field replaced (or added) by a value of the wrong kind. */
const mutatedBody = fc.tuple(validBody, field, wrongValue).map(([body, name, value]) => ({ ...body, [name]: value }));

const jsonText = fc.oneof(
  { weight: 4, arbitrary: validBody.map((body) => JSON.stringify(body)) },
  { weight: 4, arbitrary: mutatedBody.map((body) => JSON.stringify(body)) },
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
);

const notJson = fc.oneof(
  fc.constantFrom('', '{', '{"input":', 'null', 'true', '"x"', '1e999', '[]', '{}', '{"input": "a",}', "{'input': 'a'}", '\uFEFF{"input":"a"}', '{"input":"\\ud800"}', '{"__proto__":{"polluted":1},"input":"a"}'),
  fc.constantFrom(10_000, 200_000).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.constantFrom(10_000).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  jsonText.chain((text) => fc.nat(text.length).map((cut) => text.slice(0, cut))),
);

export const bodies: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: jsonText },
  { weight: 3, arbitrary: notJson },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);
