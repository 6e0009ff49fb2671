import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { checkAddress, interfaceAddresses } from '../src/activities/tools/address-policy';
import { createHttpGetTool } from '../src/activities/tools/http-get-tool';
import { ToolInputError, type ToolContext } from '../src/activities/tools/registry';
import { openResolvedFile } from '../src/activities/tools/safe-open';
import { Workspace } from '../src/activities/tools/workspace';
import { createWorkspaceTools } from '../src/activities/tools/workspace-tools';
import { loadConfig } from '../src/config';
import { noDelay, textFrames } from '../src/demo-model/chunks';
import { demoReply, findExpressions, maxParsedChars, plannedCalls } from '../src/demo-model/demo-script';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import type { ToolProgress } from '../src/shared/events';
import { readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';

// Tools that cannot stall the process serving SSE, nor read or fetch what they must not: model
// regular expressions on RE2 off the event loop, capped searches, reads checked on the opened file,
// http_get limited to global addresses, and a demo model that reads its input in linear time.

function context() {
  const progress: ToolProgress[] = [];
  const value: ToolContext = { progress: (update) => progress.push(update), signal: new AbortController().signal, attempt: 1, idempotencyKey: 'run:call', limitCache: () => undefined, output: () => undefined };
  return { context: value, progress };
}

const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ToolInputError, `a ToolInputError, not ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

/**
 * The longest time the event loop went without running a 5 ms timer, while `work` ran. A loaded
 * 2-core machine can delay a timer by tens of milliseconds; blocking work stalls it for seconds.
 */
async function loopStallDuring<T>(work: () => Promise<T>): Promise<{ value: T; stallMs: number; elapsedMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    const value = await work();
    stallMs = Math.max(stallMs, performance.now() - last);
    return { value, stallMs, elapsedMs: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

/** Reproducible bytes of 'a' and 'b' in no pattern, for the search RE2 itself finds slow. */
function randomAb(length: number): string {
  let seed = 12345;
  let out = '';
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out += seed & 65536 ? 'a' : 'b';
  }
  return out;
}

type SearchResult = { matches: Array<{ path: string; line: number; text: string }>; filesSearched: number; truncated: boolean; stopped?: string };

describe('search_files with regular expressions', () => {
  const root = mkdtempSync(join(tmpdir(), 'hardening-search-'));
  writeFileSync(join(root, 'redos.txt'), `${'a'.repeat(30)}b\naaaa\n`);
  // Each of these lines costs V8's backtracking engine seconds against ^(a+)+$.
  writeFileSync(join(root, 'bigger.txt'), `${'a'.repeat(28)}b\n`.repeat(20_000));
  const [, , searchFiles] = createWorkspaceTools(root);

  test('when ^(a+)+$ meets "a"*30 + "b" and a bigger file of such lines, then RE2 answers within a second and the event loop never stalls', async () => {
    const { value, stallMs, elapsedMs } = await loopStallDuring(async () => (await searchFiles!.run({ pattern: '^(a+)+$', path: '.', regex: true }, context().context)) as SearchResult);
    assert.deepEqual(value.matches, [{ path: 'redos.txt', line: 2, text: 'aaaa' }]);
    assert.equal(value.filesSearched, 2);
    assert.ok(elapsedMs < 1000, `answered in ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < 250, `the event loop stalled for ${Math.round(stallMs)} ms`);
  });

  for (const [pattern, feature] of [
    ['(a)\\1', 'a backreference'],
    ['(?<word>a)\\k<word>', 'a named backreference'],
    ['foo(?=bar)', 'a lookahead'],
    ['(?<!x)y', 'a lookbehind'],
  ] as const) {
    test(`when the pattern uses ${feature} (${pattern}), then the model is told RE2 cannot run it`, async () => {
      await assert.rejects(
        Promise.resolve(searchFiles!.run({ pattern, path: '.', regex: true }, context().context)),
        refused(/^unsupported regular expression .*RE2, which has no backreferences .* lookahead or lookbehind/),
      );
    });
  }

  test('when the pattern is not a regular expression at all, then it is called invalid', async () => {
    await assert.rejects(Promise.resolve(searchFiles!.run({ pattern: 'a(b', path: '.', regex: true }, context().context)), refused(/^invalid regular expression/));
  });

  test('when regex is false, then the pattern is plain text: special characters match themselves', async () => {
    writeFileSync(join(root, 'plain.md'), 'cost: (a+)+$ and more\n');
    const result = (await searchFiles!.run({ pattern: '(a+)+$', path: 'plain.md', regex: false }, context().context)) as SearchResult;
    assert.deepEqual(result.matches, [{ path: 'plain.md', line: 1, text: 'cost: (a+)+$ and more' }]);
  });

  test('when a pattern is slow even for RE2, then its time budget stops the search with a reason, off the event loop', async () => {
    const slowRoot = mkdtempSync(join(tmpdir(), 'hardening-slow-'));
    // One megabyte line: RE2 needs seconds for [ab]*a[ab]{500}c here (linear, but times the pattern's size).
    writeFileSync(join(slowRoot, 'noise.txt'), randomAb(1_000_000));
    const [, , budgeted] = createWorkspaceTools(slowRoot, { regexBudgetMs: 300 });
    const { value, stallMs, elapsedMs } = await loopStallDuring(async () => (await budgeted!.run({ pattern: '[ab]*a[ab]{500}c', path: '.', regex: true }, context().context)) as SearchResult);
    assert.match(value.stopped ?? '', /^time limit: the regular expression used up its 300 ms budget/);
    assert.equal(value.truncated, true);
    assert.ok(elapsedMs < 1500, `answered in ${Math.round(elapsedMs)} ms`);
    assert.ok(stallMs < 250, `the event loop stalled for ${Math.round(stallMs)} ms`);
  });
});

describe('search_files limits', () => {
  const root = mkdtempSync(join(tmpdir(), 'hardening-limits-'));
  for (let i = 0; i < 300; i++) writeFileSync(join(root, `file-${String(i).padStart(3, '0')}.txt`), `line one\nneedle ${i}\n`);

  test('when there are more files than the cap, then only that many are searched, and the result says so', async () => {
    const [, , searchFiles] = createWorkspaceTools(root, { maxFiles: 5 });
    const result = (await searchFiles!.run({ pattern: 'needle', path: '.', regex: false }, context().context)) as SearchResult;
    assert.equal(result.filesSearched, 5);
    assert.equal(result.matches.length, 5);
    assert.equal(result.truncated, true);
    assert.match(result.stopped ?? '', /^file limit: only the first 5 files were searched/);
  });

  test('when the tree has more directories than the cap, then the walk stops there, and the result says so', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'hardening-tree-'));
    for (let i = 0; i < 10; i++) {
      mkdirSync(join(tree, `directory-${i}`));
      writeFileSync(join(tree, `directory-${i}`, 'notes.txt'), 'needle\n');
    }
    const [, , searchFiles] = createWorkspaceTools(tree, { maxDirectories: 4 });
    const result = (await searchFiles!.run({ pattern: 'needle', path: '.', regex: false }, context().context)) as SearchResult;
    // The workspace itself is the first directory opened.
    assert.equal(result.filesSearched, 3);
    assert.match(result.stopped ?? '', /^directory limit: only the files of the first 4 directories were searched/);
  });

  test('when the files hold more bytes than the cap, then reading stops at the cap, and the result says so', async () => {
    const [, , searchFiles] = createWorkspaceTools(root, { maxBytes: 100 });
    const result = (await searchFiles!.run({ pattern: 'needle', path: '.', regex: true }, context().context)) as SearchResult;
    // Each file is 20 bytes: five fit in 100.
    assert.equal(result.filesSearched, 5);
    assert.match(result.stopped ?? '', /^byte limit: 100 bytes read/);
  });

  test('when hundreds of files are searched, then progress comes at most a few times a second, and the last update is complete', async () => {
    const [, , searchFiles] = createWorkspaceTools(root, { progressIntervalMs: 250 });
    const { context: ctx, progress } = context();
    const started = performance.now();
    const result = (await searchFiles!.run({ pattern: 'needle 1', path: '.', regex: false }, ctx)) as SearchResult;
    const elapsedMs = performance.now() - started;
    assert.equal(result.filesSearched, 300);
    assert.ok(progress.length >= 1, 'some progress');
    assert.ok(progress.length <= Math.floor(elapsedMs / 250) + 2, `${progress.length} progress events in ${Math.round(elapsedMs)} ms`);
    assert.equal(progress.at(-1)!.fraction, 1);
    // needle 1, 10 to 19 and 100 to 199.
    assert.deepEqual(progress.at(-1)!.data, { scanned: 300, matches: 111 });
  });
});

describe('workspace reads checked on the opened file', () => {
  const root = mkdtempSync(join(tmpdir(), 'hardening-workspace-'));
  const outside = mkdtempSync(join(tmpdir(), 'hardening-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'outside secret');
  const workspace = new Workspace(root);
  const [, readFile, searchFiles] = createWorkspaceTools(root);

  test('when a directory on the checked path is swapped for a link out before the open, then the opened file is refused', async () => {
    mkdirSync(join(root, 'notes'));
    writeFileSync(join(root, 'notes', 'secret.txt'), 'inside');
    const checked = await workspace.resolve('notes/secret.txt');
    // The race, made to happen: the path passed its check, then it changes.
    renameSync(join(root, 'notes'), join(root, 'notes-before'));
    symlinkSync(outside, join(root, 'notes'));
    await assert.rejects(openResolvedFile(workspace, checked, 'notes/secret.txt'), refused(/^refused: "notes\/secret.txt" leads outside the workspace through a link/));
  });

  test('when the checked file itself is swapped for a link out before the open, then the open does not follow it', async () => {
    writeFileSync(join(root, 'report.txt'), 'inside');
    const checked = await workspace.resolve('report.txt');
    rmSync(join(root, 'report.txt'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'report.txt'));
    await assert.rejects(openResolvedFile(workspace, checked, 'report.txt'), refused(/^refused: "report.txt" was replaced by a link while it was opened/));
  });

  test('when a file is a hard link to a file outside, then reading it is refused and searching skips it', async () => {
    linkSync(join(outside, 'secret.txt'), join(root, 'hard.txt'));
    await assert.rejects(Promise.resolve(readFile!.run({ path: 'hard.txt', maxBytes: 1000 }, context().context)), refused(/^refused: "hard.txt" has 2 hard links/));
    for (const regex of [false, true]) {
      const result = (await searchFiles!.run({ pattern: 'outside secret', path: '.', regex }, context().context)) as SearchResult;
      assert.deepEqual(result.matches, []);
    }
  });

  test('when a path is a link to outside, then it is refused; a link inside is still followed', async () => {
    symlinkSync(join(outside, 'secret.txt'), join(root, 'escape.txt'));
    writeFileSync(join(root, 'real.txt'), 'inside text');
    symlinkSync(join(root, 'real.txt'), join(root, 'alias.txt'));
    await assert.rejects(Promise.resolve(readFile!.run({ path: 'escape.txt', maxBytes: 1000 }, context().context)), refused(/outside the workspace through a link/));
    const alias = (await readFile!.run({ path: 'alias.txt', maxBytes: 1000 }, context().context)) as { path: string; content: string };
    assert.deepEqual([alias.path, alias.content], ['real.txt', 'inside text']);
  });

  test('when the path is a FIFO, then reading answers at once that it is not a file, instead of waiting for a writer', { timeout: 10_000 }, async () => {
    const made = spawnSync('mkfifo', [join(root, 'pipe')]);
    assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    await assert.rejects(Promise.resolve(readFile!.run({ path: 'pipe', maxBytes: 1000 }, context().context)), refused(/^not a file: pipe/));
  });
});

/** Runs `work` while any outgoing TCP connection from this process fails at once, and lists the attempts. */
async function withoutConnections<T>(work: () => Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; attempts: string[] }> {
  const attempts: string[] = [];
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args: unknown[]) {
    attempts.push(JSON.stringify(args[0]));
    throw new Error(`test: a connection was attempted (${JSON.stringify(args[0])})`);
  } as typeof connect;
  try {
    const [outcome] = await Promise.allSettled([work()]);
    return { outcome: outcome!, attempts };
  } finally {
    net.Socket.prototype.connect = connect;
  }
}

describe('http_get: global addresses only, never this machine', () => {
  const tool = createHttpGetTool({ allowPrivate: false, allowedHosts: [], timeoutMs: 2000, maxBytes: 10_000 });
  const own = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => !entry.internal);
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((_request, response) => response.end('this machine'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const urls = [
    'http://127.0.0.1/',
    'http://10.1.2.3/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://192.0.0.1/',
    'http://198.18.0.1/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[64:ff9b::a00:1]/',
    'http://[2002:7f00:1::]/',
    'http://[2001:db8::1]/',
  ];
  for (const url of urls) {
    test(`when the URL is ${url}, then it is refused before any connection`, async () => {
      const { outcome, attempts } = await withoutConnections(() => Promise.resolve(tool.run({ url }, context().context)));
      assert.deepEqual(attempts, []);
      assert.equal(outcome.status, 'rejected');
      refused(/^refused: .* resolves to .*, a private, loopback or link-local address/)((outcome as PromiseRejectedResult).reason);
    });
  }

  test('when a name resolves to a loopback address, then the check made in the lookup refuses it', async () => {
    // A name goes through the socket's own lookup, so a connection is begun (and refused there).
    await assert.rejects(Promise.resolve(tool.run({ url: `http://localhost:${port}/` }, context().context)), refused(/^refused: localhost resolves to .*, a private, loopback or link-local address/));
  });

  test("when the URL is this machine's own non-loopback interface address, then it is refused before any connection", async () => {
    assert.ok(own, 'this machine has a non-loopback interface address');
    const host = own.family === 'IPv6' ? `[${own.address}]` : own.address;
    const { outcome, attempts } = await withoutConnections(() => Promise.resolve(tool.run({ url: `http://${host}:${port}/` }, context().context)));
    assert.deepEqual(attempts, []);
    assert.equal(outcome.status, 'rejected');
    refused(/^refused: .* resolves to .*, (a private, loopback or link-local address|an address of this machine)/)((outcome as PromiseRejectedResult).reason);
  });

  test("when a global address is one of this machine's own, then it is refused as such, in any spelling", () => {
    const policy = { allowPrivate: false, allowedHosts: [], ownAddresses: () => ['8.8.4.4', '2606:4700::1111', 'fe80::1%eth0'] };
    assert.match(checkAddress(policy, 'mine.test', '8.8.4.4') ?? '', /^refused: mine.test resolves to 8.8.4.4, an address of this machine$/);
    assert.match(checkAddress(policy, 'mine.test', '::ffff:8.8.4.4') ?? '', /an address of this machine/);
    assert.match(checkAddress(policy, 'mine.test', '2606:4700:0:0:0:0:0:1111') ?? '', /an address of this machine/);
    assert.equal(checkAddress(policy, 'other.test', '8.8.8.8'), undefined);
    assert.equal(checkAddress({ ...policy, allowedHosts: ['mine.test'] }, 'mine.test', '8.8.4.4'), undefined);
    assert.ok(interfaceAddresses().includes(own!.address), 'the default list is read from the network interfaces');
  });

  test('when private addresses are allowed by configuration, then this machine can be fetched', async () => {
    const allowed = createHttpGetTool({ allowPrivate: true, allowedHosts: [], timeoutMs: 2000, maxBytes: 10_000 });
    const result = (await allowed.run({ url: `http://127.0.0.1:${port}/` }, context().context)) as { status: number; body: string };
    assert.deepEqual([result.status, result.body], [200, 'this machine']);
  });
});

describe('demo model input', () => {
  const shapes: Record<string, string> = {
    'opening parentheses': '('.repeat(100_000),
    'minus signs': '-'.repeat(100_000),
    'a number and spaces': `1${' '.repeat(99_998)}+`,
    'operators': `1${'+'.repeat(99_999)}`,
  };
  const offered = new Set(['calculator', 'wait', 'current_time']);

  for (const [shape, input] of Object.entries(shapes)) {
    // The regular expressions used before took about 30 s on 100,000 "(" (quadratic); linear code takes milliseconds.
    test(`when the input is 100,000 ${shape}, then it is read well within a second`, () => {
      const started = performance.now();
      plannedCalls(input, offered);
      findExpressions(input);
      demoReply({ model: 'demo', messages: [{ role: 'user', content: input }], tools: [...offered].map((name) => ({ type: 'function' as const, function: { name } })) }, noDelay);
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs < 1000, `took ${Math.round(elapsedMs)} ms`);
    });
  }

  test('when arithmetic comes after the first 10,000 characters, then it is not read', () => {
    const request = (content: string): ChatRequest => ({ model: 'demo', messages: [{ role: 'user', content }], tools: [{ type: 'function', function: { name: 'calculator' } }] });
    const calls = (reply: Reply) => (reply.kind === 'json' ? ((reply.body as any).choices[0].message.tool_calls ?? []) : []);
    assert.equal(calls(demoReply(request(`${'x'.repeat(maxParsedChars - 10)} 12*7`), noDelay)).length, 1);
    assert.equal(calls(demoReply(request(`${'x'.repeat(maxParsedChars)} 12*7`), noDelay)).length, 0);
  });
});

// The whole stack in this process, as `npm start` runs it: API, worker, relay and the model.
describe('the process serving SSE while tools and the demo model work', () => {
  const root = mkdtempSync(join(tmpdir(), 'hardening-stack-'));
  writeFileSync(join(root, 'redos.txt'), `${'a'.repeat(30)}b\n`);
  writeFileSync(join(root, 'bigger.txt'), `${'a'.repeat(28)}b\n`.repeat(20_000));
  let environment: TestWorkflowEnvironment;
  let stack: TestStack;

  function reply(request: ChatRequest): Reply {
    const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
    if (input.startsWith('{"calls"')) return toolScript(request);
    if (input.startsWith('stream ')) return { kind: 'stream', frames: textFrames(request.model, 'tick '.repeat(300), { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
    return demoReply(request, noDelay);
  }

  before(async () => {
    environment = await startTemporal();
    stack = await startTestStack(environment, reply, { toolSettings: { ...loadConfig({}).tools, workspaceDir: root } });
  });
  after(async () => {
    await stack?.close();
    await environment?.teardown();
  });

  async function start(body: Record<string, unknown>): Promise<string> {
    const started = await stack.post('/v1/runs', body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.runId as string;
  }

  /** Polls /healthz until `done` settles; returns the slowest answer. */
  async function slowestHealthz(done: Promise<unknown>): Promise<{ slowestMs: number; answers: number }> {
    let finished = false;
    void done.finally(() => (finished = true));
    let slowestMs = 0;
    let answers = 0;
    while (!finished) {
      const started = performance.now();
      const response = await fetch(`${stack.url}/healthz`);
      await response.text();
      assert.equal(response.status, 200);
      slowestMs = Math.max(slowestMs, performance.now() - started);
      answers++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { slowestMs, answers };
  }

  const deltas = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'text.delta');

  test('when ^(a+)+$ is searched while another run streams, then the search answers within a second, the stream keeps flowing and /healthz stays fast', async (t) => {
    const streamRunId = await start({ input: 'stream me some ticks' });
    let firstDelta!: () => void;
    const streaming = new Promise<void>((resolve) => (firstDelta = resolve));
    const stream = readSse(`${stack.url}/v1/runs/${streamRunId}/events`, {
      until: (event) => {
        if (event.event === 'text.delta') firstDelta();
        return false;
      },
    });
    await streaming;

    const searchRunId = await start({ input: toolCallScriptInput(['search_files', { pattern: '^(a+)+$', path: '.', regex: true }]) });
    const search = readSse(`${stack.url}/v1/runs/${searchRunId}/events`);
    const health = await slowestHealthz(search);
    const searchEvents = (await search).events;
    const streamEvents = (await stream).events;

    const toolStarted = searchEvents.find((event) => event.event === 'tool.started')!;
    const toolCompleted = searchEvents.find((event) => event.event === 'tool.completed');
    assert.ok(toolCompleted, `the search completed: ${JSON.stringify(searchEvents.map((event) => event.event))}`);
    assert.deepEqual(JSON.parse(toolCompleted.data.result), { matches: [], filesSearched: 2, truncated: false });
    assert.ok(toolCompleted.at - toolStarted.at < 1000, `the search took ${toolCompleted.at - toolStarted.at} ms`);

    const ticks = deltas(streamEvents);
    assert.ok(ticks.at(-1)!.at > toolCompleted.at, 'the other run was still streaming when the search ended');
    const inWindow = (at: number) => at >= toolStarted.at - 500 && at <= toolCompleted.at + 500;
    assert.ok(ticks.filter((event) => inWindow(event.at)).length >= 2, 'deltas arrived during the search');
    // Every gap between two deltas that touches the search's time, the gap into it included.
    const gaps = ticks.slice(1).flatMap((event, index) => (inWindow(event.at) || inWindow(ticks[index]!.at) ? [event.at - ticks[index]!.at] : []));
    t.diagnostic(`search ${toolCompleted.at - toolStarted.at} ms, widest delta gap ${Math.max(...gaps)} ms, slowest /healthz ${Math.round(health.slowestMs)} ms of ${health.answers}`);
    assert.ok(Math.max(...gaps) < 500, `the other run's deltas stopped for ${Math.max(...gaps)} ms during the search`);
    assert.ok(health.answers >= 2 && health.slowestMs < 500, `/healthz answered ${health.answers} times, the slowest in ${Math.round(health.slowestMs)} ms`);
    assert.equal(streamEvents.at(-1)!.event, 'run.completed');
  });

  test('when the model sends a pattern RE2 cannot run, then it reads a clear error and the run goes on', async () => {
    const runId = await start({ input: toolCallScriptInput(['search_files', { pattern: '(\\w+) \\1', path: '.', regex: true }]) });
    const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`);
    const failed = events.find((event) => event.event === 'tool.failed');
    assert.match(failed?.data.error ?? '', /^unsupported regular expression .*no backreferences/);
    const followUp = stack.model.requests.find((request) => request.body.messages.some((message) => message.role === 'tool' && message.content?.includes('unsupported regular expression')));
    assert.ok(followUp, 'the model was sent the error as the tool result');
    assert.equal(events.at(-1)!.event, 'run.completed');
  });

  test('when the demo model gets a 100,000-character input, then it answers quickly and /healthz stays fast meanwhile', async (t) => {
    for (const input of ['('.repeat(100_000), '-'.repeat(100_000)]) {
      const started = performance.now();
      const runId = await start({ input, tools: ['calculator', 'wait', 'current_time'] });
      const run = readSse(`${stack.url}/v1/runs/${runId}/events`);
      const health = await slowestHealthz(run);
      const { events } = await run;
      const elapsedMs = performance.now() - started;
      t.diagnostic(`${input[0]!.repeat(3)}…: answered in ${Math.round(elapsedMs)} ms, slowest /healthz ${Math.round(health.slowestMs)} ms of ${health.answers}`);
      assert.equal(events.at(-1)!.event, 'run.completed');
      assert.match(events.at(-1)!.data.output, /built-in demo model/);
      assert.ok(elapsedMs < 5000, `answered in ${Math.round(elapsedMs)} ms`);
      assert.ok(health.slowestMs < 500, `/healthz took up to ${Math.round(health.slowestMs)} ms`);
    }
  });
});
