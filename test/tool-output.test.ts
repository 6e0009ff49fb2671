import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { resolveAccess } from '../src/api/auth/access';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { createHttpGetTool, isTextual } from '../src/activities/tools/http-get-tool';
import { ToolRegistry, type ToolContext, type ToolDefinition } from '../src/activities/tools/registry';
import { createWorkspaceTools } from '../src/activities/tools/workspace-tools';
import { accept, FINISHED, formatCursor, parseCursor, type Cursor } from '../src/shared/event-position';
import { assembleToolOutput, assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// Tools that stream their output: context.output(text) reaches watchers at once as
// tool.output.delta, with ids that say how much of which attempt's output a client has; the
// output is kept with the call's result, so a late or resumed client rebuilds exactly the rest.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
/** The model calls the tool named in the input ("call <tool> <json arguments>"), then answers. */
const responder: Responder = (request) => {
  const toolMessage = request.messages.findLast((message) => message.role === 'tool');
  if (toolMessage) return { kind: 'stream', frames: textFrames(request.model, `done: ${toolMessage.content?.length ?? 0} chars`, fast) };
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const [, name, args] = /^call (\S+) (.*)$/.exec(input) ?? [];
  return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: name!, arguments: args! }], fast) };
};

/** Opened by the test: a typewriter waits for its key before writing its second half. */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
function gate(key: string) {
  let entry = gates.get(key);
  if (!entry) {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    entry = { open, opened };
    gates.set(key, entry);
  }
  return entry;
}

const line = (index: number) => `line ${index}: ${'é😀'.repeat(index % 3)}ok\n`;
const typewriter: ToolDefinition<{ key: string; lines: number }> = {
  name: 'typewriter',
  description: 'Writes lines as it goes.',
  parameters: z.object({ key: z.string(), lines: z.number().int().min(1).max(1000) }),
  idempotent: true,
  async run({ key, lines }, context) {
    for (let index = 0; index < lines; index++) {
      if (index === Math.floor(lines / 2)) await gate(key).opened;
      context.output(line(index));
      context.progress({ fraction: (index + 1) / lines });
    }
    return `wrote ${lines} lines`;
  },
};

const attemptsSeen = new Map<string, number>();
const draftWriter: ToolDefinition<{ key: string }> = {
  name: 'draft_writer',
  description: 'Writes a draft, fails once, then writes the final text.',
  parameters: z.object({ key: z.string() }),
  idempotent: true,
  retry: { maximumAttempts: 3, initialIntervalMs: 100, maximumIntervalMs: 100 },
  async run({ key }, context: ToolContext) {
    attemptsSeen.set(key, context.attempt);
    if (context.attempt === 1) {
      context.output('a draft that will be thrown away, longer than the final\n');
      throw new Error('the first attempt fails after writing');
    }
    context.output('final ');
    context.output('text\n');
    return 'final';
  },
};

const chatty: ToolDefinition<Record<string, never>> = {
  name: 'chatty',
  description: 'Writes more than the output limit.',
  parameters: z.object({}),
  idempotent: true,
  run(_args, context) {
    for (const chunk of ['0123', '4567', '89ab', 'cdef']) context.output(chunk);
    return 'ok';
  },
};

// With keys on, as every door of the API is used for real: streams and reads need the key.
const apiKey = 'acme-output-key-0123456789abcdef';
const access = () => resolveAccess({ mode: 'auto', keys: `acme:${apiKey}`, host: '127.0.0.1' });
const auth = { authorization: `Bearer ${apiKey}` };
const sse = (url: string, options: Parameters<typeof readSse>[1] = {}) => readSse(url, { ...options, headers: { ...auth, ...options.headers } });

let temporal: TestTemporal;
let page: Server;
let pageUrl: string;
let stack: TestStack;
/** Another API, whose relay never had the run's streams: what it sends comes from durable state. */
let reader: TestStack;
const fromReader = (url: string) => `${reader.url}${new URL(url).pathname}`;
const pageBody = `<html>${'<p>streamed body</p>\n'.repeat(200)}</html>`;

before(async () => {
  temporal = await startTemporal();
  page = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    // Three writes, the body's text split across them.
    const bytes = Buffer.from(pageBody);
    response.write(bytes.subarray(0, 100));
    setTimeout(() => response.write(bytes.subarray(100, 2000)), 20);
    setTimeout(() => response.end(bytes.subarray(2000)), 40);
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  const config = loadConfig({});
  stack = await startTestStack(temporal, responder, {
    tools: new ToolRegistry([typewriter, draftWriter, chatty, createHttpGetTool({ ...config.tools.httpGet, allowedHosts: ['127.0.0.1'] })]),
    toolSettings: { ...config.tools, outputMaxBytes: 10 * 1024 },
    access: access(),
  });
  reader = await startTestStack(temporal, responder, { access: access() });
});

after(async () => {
  await stack?.close();
  await reader?.close();
  page?.close();
  await temporal?.teardown();
});

async function start(input: string, tools: string[]): Promise<{ runId: string; events: string }> {
  const created = await callApi(stack.url, 'POST', '/v1/runs', apiKey, { input, tools });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return { runId: created.body.runId, events: `${stack.url}${created.body.links.events}` };
}

const deltas = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'tool.output.delta');

describe('ids of streamed output', () => {
  test('a tools id carries each call’s output attempt and offset, and reads back the same', () => {
    for (const id of ['2.t.3~1~40-1', '2.t.d-5~2~0-0', '4.t.1~1~7', '2.t.d-d']) assert.equal(formatCursor(parseCursor(id)!), id);
    for (const id of ['2.t.0~1~4', '2.t.3~0~4', '2.t.3~1', '2.t.d~1~4', '2.t.3~1~-1', '2.t.3~~4']) assert.equal(parseCursor(id), undefined, id);
  });

  test('a delta is cut to what the client lacks; a new attempt starts over; an end waits for the output', () => {
    const at = (id: string) => parseCursor(id)!;
    const delta = (attempt: number, start: number, end: number) => ({ kind: 'tool-output' as const, step: 2, call: 0, calls: 2, attempt, start, end });
    const verdict = (cursor: Cursor, position: Parameters<typeof accept>[1]) => {
      const result = accept(cursor, position);
      return result.kind === 'next' ? `${formatCursor(result.next)} skip ${result.skip}` : result.kind;
    };
    assert.equal(verdict(at('2.t.1-0'), delta(1, 0, 5)), '2.t.1~1~5-0 skip 0');
    assert.equal(verdict(at('2.t.0-0'), delta(1, 0, 5)), 'gap', 'output comes after the start');
    assert.equal(verdict(at('2.t.3~1~5-0'), delta(1, 3, 9)), '2.t.3~1~9-0 skip 2');
    assert.equal(verdict(at('2.t.3~1~5-0'), delta(1, 0, 5)), 'old');
    assert.equal(verdict(at('2.t.3~1~5-0'), delta(1, 6, 9)), 'gap');
    assert.equal(verdict(at('2.t.3~1~5-0'), delta(2, 0, 4)), '2.t.3~2~4-0 skip 0', 'a later attempt replaces the output');
    assert.equal(verdict(at('2.t.3~1~5-0'), delta(2, 2, 4)), 'gap');
    assert.equal(verdict(at('2.t.3~2~1-0'), delta(1, 0, 9)), 'old', 'an earlier attempt is over');
    assert.equal(verdict(at('2.t.d-0'), delta(1, 0, 9)), 'old');
    const end = (attempt: number, length: number) => ({ kind: 'tool' as const, step: 2, call: 0, calls: 2, mark: FINISHED, output: { attempt, length } });
    assert.equal(verdict(at('2.t.3~1~5-0'), end(1, 9)), 'gap');
    assert.equal(verdict(at('2.t.3~1~9-0'), end(1, 9)), '2.t.d-0 skip 0');
    assert.equal(verdict(at('2.t.3~1~9-0'), end(2, 9)), 'gap', 'the recorded output is a later attempt’s');
    assert.equal(verdict(at('2.t.1-0'), { kind: 'tool', step: 2, call: 0, calls: 2, mark: FINISHED }), '2.t.d-0 skip 0');
    assert.equal(verdict(at('2.t.3~1~9-0'), { kind: 'tool', step: 2, call: 1, calls: 2, mark: 1 }), '2.t.3~1~9-1 skip 0', 'another call keeps this one’s output');
  });
});

describe('the built-in tools stream', () => {
  const context = () => {
    const output: string[] = [];
    const value: ToolContext = { progress: () => undefined, output: (text) => output.push(text), signal: new AbortController().signal, attempt: 1, idempotencyKey: 'run:call', limitCache: () => undefined };
    return { context: value, output };
  };

  test('http_get streams the body’s text as it arrives, characters whole', async () => {
    const { context: value, output } = context();
    const tool = createHttpGetTool({ allowPrivate: false, allowedHosts: ['127.0.0.1'], timeoutMs: 5000, maxBytes: 1_000_000 });
    const result = (await tool.run({ url: `${pageUrl}/` }, value)) as { body: string };
    assert.equal(result.body, pageBody);
    assert.equal(output.join(''), pageBody);
    assert.ok(output.length >= 3, `the body came in ${output.length} pieces`);
  });

  test('http_get streams a UTF-8 character split between two reads whole, and no binary body', async () => {
    const text = 'Grüße, 世界 😀 done';
    const server = createServer((request, response) => {
      const bytes = Buffer.from(text);
      response.writeHead(200, { 'content-type': request.url === '/binary' ? 'application/octet-stream' : 'text/plain' });
      // Cut inside "ü" and inside the emoji.
      response.write(bytes.subarray(0, 3));
      setTimeout(() => response.write(bytes.subarray(3, 17)), 10);
      setTimeout(() => response.end(bytes.subarray(17)), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const tool = createHttpGetTool({ allowPrivate: false, allowedHosts: ['127.0.0.1'], timeoutMs: 5000, maxBytes: 1_000_000 });
      const textual = context();
      await tool.run({ url: `${base}/text` }, textual.context);
      assert.equal(textual.output.join(''), text);
      assert.ok(textual.output.every((piece) => !piece.includes('\uFFFD')));
      const binary = context();
      await tool.run({ url: `${base}/binary` }, binary.context);
      assert.deepEqual(binary.output, []);
    } finally {
      server.close();
    }
    assert.equal(isTextual('application/problem+json'), true);
    assert.equal(isTextual('image/png'), false);
  });

  test('search_files streams each match as it finds it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tool-output-'));
    try {
      await mkdir(join(root, 'src'));
      await writeFile(join(root, 'src', 'a.ts'), 'const a = 1;\n// TODO one\nconst b = 2; // TODO two\n');
      await writeFile(join(root, 'notes.md'), 'nothing here\n');
      const searchFiles = createWorkspaceTools(root).find((tool) => tool.name === 'search_files')!;
      const { context: value, output } = context();
      const result = (await searchFiles.run({ pattern: 'TODO', path: '.', regex: false }, value)) as { matches: Array<{ path: string; line: number; text: string }> };
      assert.equal(result.matches.length, 2);
      assert.deepEqual(output, result.matches.map((match) => `${match.path}:${match.line}: ${match.text}\n`));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('streamed output in a run', () => {
  test('a client that leaves in the middle resumes with exactly the rest, live and after the end', async () => {
    const lines = 40;
    const full = Array.from({ length: lines }, (_, index) => line(index)).join('');
    const half = Array.from({ length: lines / 2 }, (_, index) => line(index)).join('');
    const { runId, events } = await start(`call typewriter {"key":"resume","lines":${lines}}`, ['typewriter']);
    // The first client reads the first half (the tool waits there), then leaves.
    const first = await sse(events, {
      until: (_event, all) => assembleToolOutput(all).get('call_1') === half,
      signal: AbortSignal.timeout(30_000),
    });
    const lastId = first.events.at(-1)!.id;
    assert.match(lastId, /^2\.t\.\d+~1~\d+$/, 'the id says how much output the client has');
    assert.ok(deltas(first.events).length >= lines / 2, 'the output came as it was written, one delta per write');
    gate('resume').open();
    const second = await sse(events, { headers: { 'last-event-id': lastId }, signal: AbortSignal.timeout(30_000) });
    assert.equal(second.events.at(-1)?.event, 'run.completed');
    const both = [...first.events, ...second.events];
    assertIncreasingIds(both);
    assert.equal(assembleToolOutput(both).get('call_1'), full, 'nothing lost or doubled');
    assert.ok(deltas(second.events).length >= 1);
    assert.equal(deltas(second.events)[0]!.data.delta.startsWith(line(lines / 2)), true);

    // After the run: a client from the start gets the output as one delta from durable state.
    const late = await sse(fromReader(events), { signal: AbortSignal.timeout(30_000) });
    assert.equal(deltas(late.events).length, 1);
    assert.equal(assembleToolOutput(late.events).get('call_1'), full);
    assertIncreasingIds(late.events);
    // Resumed from inside a delta (a client that got part of one): exactly the rest.
    const cut = 7;
    const resumed = await sse(fromReader(events), { headers: { 'last-event-id': `2.t.1~1~${cut}` }, signal: AbortSignal.timeout(30_000) });
    const rest = deltas(resumed.events);
    assert.equal(rest.length, 1);
    assert.equal(rest[0]!.data.delta, full.slice(cut));
    assert.equal(resumed.events[resumed.events.indexOf(rest[0]!) + 1]?.event, 'tool.completed');
    // And the run's state has it, for GET readers.
    const run = await callApi(stack.url, 'GET', `/v1/runs/${runId}`, apiKey);
    const call = run.body.steps.find((step: { kind: string }) => step.kind === 'tools').calls[0];
    assert.equal(call.output, full);
    assert.equal(call.result, `wrote ${lines} lines`, 'the model gets the result, not the output');
  });

  test('a retried call’s output replaces the failed attempt’s, for live and late clients', async () => {
    const { events } = await start('call draft_writer {"key":"retry"}', ['draft_writer']);
    const live = await sse(events, { signal: AbortSignal.timeout(30_000) });
    assert.equal(live.events.at(-1)?.event, 'run.completed');
    assert.equal(attemptsSeen.get('retry'), 2);
    const liveDeltas = deltas(live.events);
    assert.deepEqual(
      liveDeltas.map((event) => [event.data.attempt, event.data.delta]),
      [
        [1, 'a draft that will be thrown away, longer than the final\n'],
        [2, 'final '],
        [2, 'text\n'],
      ],
    );
    assertIncreasingIds(live.events);
    const completed = live.events.find((event) => event.event === 'tool.completed')!;
    assert.equal(completed.data.attempts, 2);
    assert.equal(assembleToolOutput(live.events).get('call_1'), 'final text\n');
    const late = await sse(fromReader(events), { signal: AbortSignal.timeout(30_000) });
    assert.deepEqual(deltas(late.events).map((event) => [event.data.attempt, event.data.delta]), [[2, 'final text\n']]);
    // Resumed from the middle of the failed attempt's output: the final attempt's, whole.
    const resumed = await sse(fromReader(events), { headers: { 'last-event-id': '2.t.1~1~20' }, signal: AbortSignal.timeout(30_000) });
    assert.deepEqual(deltas(resumed.events).map((event) => [event.data.attempt, event.data.delta]), [[2, 'final text\n']]);
  });

  test('output past its limit is neither sent nor kept, and the end says how much was left out', async () => {
    // The limit is a quarter of the call's result budget at most: give the step a tiny one.
    const config = loadConfig({});
    const small = await startTestStack(temporal, responder, {
      tools: new ToolRegistry([chatty]),
      toolSettings: { ...config.tools, outputMaxBytes: 10 },
      access: access(),
    });
    try {
      const created = await callApi(small.url, 'POST', '/v1/runs', apiKey, { input: 'call chatty {}', tools: ['chatty'] });
      const url = `${small.url}${created.body.links.events}`;
      const live = await sse(url, { signal: AbortSignal.timeout(30_000) });
      assert.deepEqual(deltas(live.events).map((event) => event.data.delta), ['0123', '4567', '89']);
      const completed = live.events.find((event) => event.event === 'tool.completed')!;
      assert.deepEqual(completed.data.outputTruncated, { totalBytes: 16, keptBytes: 10 });
      const late = await sse(fromReader(url), { signal: AbortSignal.timeout(30_000) });
      assert.deepEqual(deltas(late.events).map((event) => event.data.delta), ['0123456789']);
      assert.deepEqual(late.events.find((event) => event.event === 'tool.completed')!.data.outputTruncated, { totalBytes: 16, keptBytes: 10 });
    } finally {
      await small.close();
    }
  });

  test('http_get in a run: watchers read the page as it downloads; late ones read the same', async () => {
    const { events } = await start(`call http_get {"url":"${pageUrl}/page"}`, ['http_get']);
    const live = await sse(events, { signal: AbortSignal.timeout(30_000) });
    assert.equal(live.events.at(-1)?.event, 'run.completed');
    assert.ok(deltas(live.events).length >= 2, 'more than one piece');
    assert.equal(assembleToolOutput(live.events).get('call_1'), pageBody);
    const late = await sse(fromReader(events), { signal: AbortSignal.timeout(30_000) });
    assert.equal(deltas(late.events).length, 1);
    assert.equal(assembleToolOutput(late.events).get('call_1'), pageBody);
  });
});
