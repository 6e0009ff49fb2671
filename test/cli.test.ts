import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RunTranscript, type RunEvent } from '../src/client';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { startChild, workerRunningActivity, type Child } from './helpers/processes';
import { resolveAccess } from '../src/api/auth/access';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { deleteFileTool } from './helpers/delete-file-tool';
import { callApi, startTestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { closeTmux, openPane } from './helpers/tmux';

// The CLI as people use it (its bin entry, as npx runs it): a real terminal (a tmux pane), a real
// API and two real worker processes (one is killed with SIGKILL mid-answer), a scripted model that
// streams slowly.

const key = `cli-test-key-${randomBytes(16).toString('hex')}`;
const story = Array.from({ length: 90 }, (_, index) => `s${index}`).join(' ');
const crashText = Array.from({ length: 120 }, (_, index) => `c${index}`).join(' ');
const cwd = process.cwd();
let temporal: TestTemporal;
let model: ModelServer;
let api: Child;
let apiUrl: string;
let workers: Child[] = [];
let workerStreams: string[] = [];

before(async () => {
  temporal = await startTemporal();
  model = await startModelServer((request) => {
    const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
    if (first.startsWith('story')) return { kind: 'stream', frames: textFrames(request.model, story, { firstTokenDelayMs: 50, tokenDelayMs: 60 }) };
    if (first.startsWith('crash')) return { kind: 'stream', frames: textFrames(request.model, crashText, { firstTokenDelayMs: 20, tokenDelayMs: 50 }) };
    return toolScript(request);
  });
  const common = { TEMPORAL_ADDRESS: temporal.address, RELAY_SECRET: randomBytes(32).toString('hex'), OPENAI_BASE_URL: model.baseURL, TASK_QUEUE: `cli-${randomUUID()}` };
  workers = [0, 1].map(() => startChild('src/worker.ts', { ...common, STREAM_PORT: '0' }));
  api = startChild('src/api/server.ts', { ...common, PORT: '0', API_KEYS: `acme:${key}` });
  workerStreams = await Promise.all(workers.map(async (worker) => (await worker.waitFor(/live streams at (http:\/\/\S+)/))[1]!));
  apiUrl = (await api.waitFor(/API: (http:\/\/\S+)/))[1]!;
});

after(async () => {
  closeTmux();
  await Promise.all([api, ...workers].map((child) => child?.stop()));
  await model?.close();
  await temporal?.teardown();
});

const cliEnv = () => ({ DURABLE_AGENTS_URL: apiUrl, DURABLE_AGENTS_API_KEY: key });
const cliAt = (env: Record<string, string>, ...args: string[]) => openPane([process.execPath, 'bin/durable-agents.mjs', ...args], { env, cwd });
const cli = (...args: string[]) => cliAt(cliEnv(), ...args);
const flat = (text: string) => text.replace(/\s+/g, ' ');

/** The CLI with pipes (not a terminal): stdout, stderr and the exit code. */
function cliPiped(args: string[], env: Record<string, string> = cliEnv()): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/durable-agents.mjs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('exit', (code) => resolve({ stdout, stderr, code }));
  });
}

describe('the CLI', () => {
  test('when a run calls two tools in parallel in a terminal, then both progress bars are drawn and the answer and its usage are printed', async () => {
    const pane = cli('run', toolCallScriptInput(['wait', { seconds: 2 }], ['wait', { seconds: 2 }]));
    try {
      assert.equal(await pane.exited(), 0, pane.capture());
      const screen = pane.capture();
      assert.match(screen, /results: waited 2 s \| waited 2 s/);
      const bars = screen.split('\n').filter((line) => /^wait\(.*[█░]+ 100% /.test(line));
      assert.equal(bars.length, 2, `two finished bars, one per call:\n${screen}`);
      assert.match(screen, /completed · \d+ tokens/);
    } finally {
      pane.close();
    }
  });

  test('when Ctrl-C is pressed mid-answer, then the CLI detaches with exit 130 and the watch hint, the run goes on, and watch prints it whole', async () => {
    const pane = cli('run', 'story time');
    let runId: string;
    let shown: string;
    let after: string;
    try {
      runId = (await pane.waitFor(/run (\S+) · /))[1]!;
      await pane.waitFor(/s10 s11/);
      pane.sendKeys('C-c');
      assert.equal(await pane.exited(10_000), 130, pane.capture());
      const screen = pane.capture();
      assert.match(screen, new RegExp(`run ${runId} goes on; watch it with: durable-agents watch ${runId}`));
      assert.doesNotMatch(flat(screen), / s89\b/, 'detached before the end');
      shown = /· \S+\n([\s\S]*?)\n+run \S+ goes on/.exec(screen)![1]!.replace(/\^C/g, '').replace(/\n/g, '');
      after = /--after (\S+)\)/.exec(screen)![1]!;
    } finally {
      pane.close();
    }
    // Only the rest, from the position Ctrl-C printed: with what was shown, the whole answer.
    const rest = await cliPiped(['watch', runId, '--after', after]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.equal(shown + rest.stdout.replace(/\n$/, ''), story);
    const status = (await callApi(apiUrl, 'GET', `/v1/runs/${runId}`, key)).body.status;
    assert.ok(status === 'running' || status === 'completed', status);
    const watch = cli('watch', runId);
    try {
      assert.equal(await watch.exited(), 0, watch.capture());
      assert.ok(flat(watch.capture()).includes(story), watch.capture());
      assert.match(watch.capture(), /completed · /);
    } finally {
      watch.close();
    }
    const run = await callApi(apiUrl, 'GET', `/v1/runs/${runId}`, key);
    assert.equal(run.body.status, 'completed');
  });

  test('when --json is given, then stdout is NDJSON events only, whose text deltas assemble to the answer', async () => {
    const { stdout, stderr, code } = await cliPiped(['--json', 'run', 'story for scripts']);
    assert.equal(code, 0, stderr);
    const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as RunEvent);
    assert.equal(events[0]!.event, 'run.started');
    assert.ok(events.every((event) => typeof event.id === 'string' && typeof event.data === 'object'));
    const transcript = new RunTranscript();
    for (const event of events) transcript.add(event);
    assert.equal(transcript.text, story);
    assert.equal(transcript.end?.event, 'run.completed');
    assert.equal(events.at(-1)!.event, 'run.completed');
  });

  test('when stdout is not a terminal, then it gets the answer only, and stderr a line per tool event and no bars', async () => {
    const { stdout, stderr, code } = await cliPiped(['run', toolCallScriptInput(['wait', { seconds: 1 }], ['calculator', { expression: '6*7' }])]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'results: waited 1 s | 42\n');
    assert.match(stderr, /^→ wait\(\{"seconds":1\}\)/m);
    assert.match(stderr, /^✓ calculator: 42$/m);
    assert.doesNotMatch(stderr, /█|\x1b\[/, 'no bars, no escape sequences');
    assert.match(stderr, /^completed · /m);
  });

  test('when the worker streaming the answer is killed with SIGKILL, then the CLI shows the retry and the whole answer', async () => {
    const pane = cli('run', 'crash the worker');
    try {
      const runId = (await pane.waitFor(/run (\S+) · /))[1]!;
      await pane.waitFor(/c10 c11/);
      (await workerRunningActivity(temporal.client, runId, workers, workerStreams)).process.kill('SIGKILL');
      assert.equal(await pane.exited(120_000), 0, pane.capture());
      const screen = flat(pane.capture());
      assert.match(screen, /↻ step 1 retrying \(attempt 2/);
      const afterRetry = screen.slice(screen.indexOf('↻ step 1 retrying'));
      assert.ok(afterRetry.includes(crashText), `the whole answer after the retry:\n${pane.capture()}`);
      assert.match(screen, /completed · /);
    } finally {
      pane.close();
    }
  });

  test('when a run waits for approvals, then it prints the approve and deny commands, and approve and deny decide the calls', async () => {
    const deleted: string[] = [];
    const stack = await startTestStack(temporal, toolScript, {
      tools: new ToolRegistry([deleteFileTool(deleted), calculatorTool]),
      access: resolveAccess({ mode: 'auto', keys: `acme:${key}`, host: '127.0.0.1' }),
    });
    const env = { DURABLE_AGENTS_URL: stack.url, DURABLE_AGENTS_API_KEY: key };
    const pane = cliAt(env, 'run', toolCallScriptInput(['delete_file', { path: 'a.txt' }], ['delete_file', { path: 'b.txt' }]));
    try {
      const runId = (await pane.waitFor(/durable-agents approve (\S+) call_1$/m))[1]!;
      await pane.waitFor(/durable-agents deny \S+ call_0 --reason/);
      const approved = await cliPiped(['approve', runId, 'call_0'], env);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(approved.stdout, `call call_0 of run ${runId}: approved\n`);
      const denied = await cliPiped(['--json', 'deny', runId, 'call_1', '--reason', 'not that one'], env);
      assert.equal(denied.code, 0, denied.stderr);
      assert.deepEqual(JSON.parse(denied.stdout), { runId, callId: 'call_1', decision: 'denied' });
      assert.equal(await pane.exited(), 0, pane.capture());
      const screen = pane.capture();
      assert.match(screen, /delete_file approved/);
      assert.match(screen, /delete_file denied: not that one/);
      assert.match(screen, /results: deleted a\.txt \| /);
      assert.deepEqual(deleted, ['a.txt']);
    } finally {
      pane.close();
      await stack.close();
    }
  });

  test('when runs, approve and cancel are used, then they list, refuse with the API error code, and cancel', async () => {
    const created = await callApi(apiUrl, 'POST', '/v1/runs', key, { input: 'story to cancel' });
    assert.equal(created.status, 202);
    const runId = created.body.runId as string;
    const cancelled = await cliPiped(['cancel', runId]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`run ${runId}: cancelling`));
    const watched = await cliPiped(['watch', runId]);
    assert.equal(watched.code, 1);
    assert.match(watched.stderr, /cancelled · /);
    const refused = await cliPiped(['approve', runId, 'call_0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: (approval_not_pending|run_not_running): /m);
    // Visibility catches up a moment later.
    const listed = new RegExp(`${runId}\\s+cancelled`);
    let list = '';
    for (let attempt = 0; attempt < 30 && !listed.test(list); attempt++) {
      list = (await cliPiped(['runs', '--limit', '50'])).stdout;
      if (!listed.test(list)) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.match(list, /^RUN\s+STATUS/);
    assert.match(list, listed);
    const wrongKey = await cliPiped(['runs'], { DURABLE_AGENTS_URL: apiUrl, DURABLE_AGENTS_API_KEY: 'not-a-key' });
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /^error: unauthorized: /m);
    const usage = await cliPiped(['runs', '--status', 'sleeping']);
    assert.equal(usage.code, 2);
    const unknown = await cliPiped(['frobnicate']);
    assert.equal(unknown.code, 2);
  });
});
