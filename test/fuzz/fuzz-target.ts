import assert from 'node:assert/strict';
import { deleteFileTool } from '../helpers/delete-file-tool';
import { calculatorTool } from '../../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../../src/activities/tools/registry';
import { randomBytes } from 'node:crypto';
import { resolveAccess } from '../../src/api/auth/access';
import { codecSettings } from '../../src/codec';
import { ensureConsoleBuilt } from '../../src/api/console-assets';
import { loadConfig } from '../../src/config';
import { noDelay } from '../../src/demo-model/chunks';
import { demoReply } from '../../src/demo-model/demo-script';
import type { Responder } from '../../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../../src/demo-model/tool-call-script';
import { readSse } from '../helpers/sse';
import { firstPageCursor, withAltered } from './list-cursors';
import { chatIds } from './parts';
import { send } from './send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { Metrics } from '../../src/telemetry/metrics';
import { startTemporal, type TestTemporal } from '../helpers/temporal';
import type { FuzzTarget } from './property';

// What the fuzzer runs against: a real Temporal dev server, worker and API, twice (open, and with
// API keys), holding runs in every state (completed, waiting for approval, cancelled, failed,
// terminated, a session's turn) and sessions, so requests can name real ids of either kind; lists
// of runs long enough to have a second page (real cursors); a chat whose turn waits for approval.

const deleteFile = deleteFileTool();

/** The demo model; tool-call scripts for approvals; "fail" is refused (a failed run). */
const responder: Responder = (request) => {
  const last = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  if (last === 'fail') return { kind: 'json', status: 400, body: { error: { message: 'refused by the fuzz script' } } };
  if (last.startsWith('{"calls"')) {
    try {
      return toolScript(request);
    } catch {
      // a fuzzed input that only looks like a script
    }
  }
  return demoReply(request, noDelay);
};

const keys = { fuzz: 'fuzz-key-0123456789abcdef', other: 'other-key-0123456789abcdef' };

export interface RunningTarget extends FuzzTarget {
  close(): Promise<void>;
}

export async function startFuzzTarget(): Promise<RunningTarget> {
  const problems: string[] = [];
  const log = (message: string, error?: unknown) => problems.push(`server logged "${message}": ${(error as Error)?.stack ?? String(error)}`);
  const onUncaught = (error: unknown) => problems.push(`uncaught: ${(error as Error)?.stack ?? String(error)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const stacks: TestStack[] = [];
  let environment: TestTemporal | undefined;
  const close = async () => {
    for (const stack of stacks) await stack.close();
    await environment?.teardown();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  };
  try {
    [environment] = await Promise.all([startTemporal(), ensureConsoleBuilt()]);
    const tools = () => new ToolRegistry([calculatorTool, deleteFile]);
    // Each with its metrics (as npm start has by default), so GET /metrics is fuzzed too.
    const open = await startTestStack(environment, responder, { tools: tools(), log, metrics: new Metrics() });
    stacks.push(open);
    const access = resolveAccess({ mode: 'on', keys: `fuzz:${keys.fuzz},other:${keys.other}`, host: '127.0.0.1' });
    // Payloads encrypted, so the codec endpoint decodes; no write limit, which would hide the
    // routes behind 429s in a long `npm run fuzz` (test/rate-limits.test.ts covers it).
    const config = loadConfig({ PAYLOAD_KEYS: `new:${randomBytes(32).toString('base64')}` });
    const keyed = await startTestStack(environment, responder, {
      tools: tools(),
      log,
      access,
      codec: codecSettings(config, 'http://localhost:8233'),
      limits: { ...config.limits, writesPerMinute: 0 },
      metrics: new Metrics(),
    });
    stacks.push(keyed);
    const pools = await seed(environment, open, keyed);
    return { urls: { open: new URL(open.url), keyed: new URL(keyed.url) }, pools, problems, seen: new Map(), close };
  } catch (error) {
    await close();
    throw error;
  }
}

const auth = { authorization: `Bearer ${keys.fuzz}` };
const ended = (event: { event: string }) => /^run\.(completed|failed|cancelled)$/.test(event.event);

async function seed(environment: TestTemporal, open: TestStack, keyed: TestStack): Promise<FuzzTarget['pools']> {
  const start = async (stack: TestStack, body: Record<string, unknown>) => {
    const response = await stack.post('/v1/runs', body, auth);
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return response.body as { runId: string; streamToken: string };
  };
  const follow = (stack: TestStack, runId: string, until: (event: { event: string }) => boolean) => readSse(`${stack.url}/v1/runs/${runId}/events`, { headers: auth, until });
  const approval = { input: toolCallScriptInput(['delete_file', { path: 'a.txt' }], ['delete_file', { path: 'b.txt' }]), tools: ['delete_file'] };

  const completed = await start(keyed, { input: 'What is 2+3?' });
  const { events } = await follow(keyed, completed.runId, ended);
  const waiting = await start(keyed, approval);
  await follow(keyed, waiting.runId, (event) => event.event === 'approval.requested');
  const cancelled = await start(keyed, approval);
  await follow(keyed, cancelled.runId, (event) => event.event === 'approval.requested');
  assert.equal((await keyed.post(`/v1/runs/${cancelled.runId}/cancel`, {}, auth)).status, 202);
  await follow(keyed, cancelled.runId, ended);
  const failed = await start(keyed, { input: 'fail' });
  await follow(keyed, failed.runId, ended);
  const terminated = await start(open, approval);
  await follow(open, terminated.runId, (event) => event.event === 'approval.requested');
  await environment.client.workflow.getHandle(terminated.runId).terminate('ended by the fuzz setup');

  const session = (await keyed.post('/v1/sessions', {}, auth)).body.sessionId as string;
  const turn = await keyed.post(`/v1/sessions/${session}/messages`, { input: 'What is 1+1?' }, auth);
  assert.equal(turn.status, 202, JSON.stringify(turn.body));
  await follow(keyed, turn.body.runId, ended);
  const openSession = (await open.post('/v1/sessions', {})).body.sessionId as string;
  const openCompleted = await start(open, { input: 'What is 2+3?' });
  await follow(open, openCompleted.runId, ended);

  // A chat (on each API) whose turn stays running: GET /v1/chat/:chatId/stream has a turn to resume.
  for (const [stack, headers] of [[keyed, auth], [open, {}]] as const) {
    const body = JSON.stringify({ id: chatIds[1], messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: approval.input }] }], tools: approval.tools });
    const chat = await send(new URL(stack.url), { method: 'POST', path: '/v1/chat', headers: { ...headers, 'content-type': 'application/json' }, body }, { timeoutMs: 5000, streamMs: 50, maxBytes: 65_536 });
    assert.equal(chat.status, 200, chat.body);
  }
  const cursors = [
    await firstPageCursor(keyed, 'limit=1', keys.fuzz),
    await firstPageCursor(keyed, 'limit=1&status=completed', keys.fuzz),
    await firstPageCursor(open, 'limit=1'),
  ];

  const runs = [completed, waiting, cancelled, failed, terminated];
  return {
    run: [...runs.map((run) => run.runId), turn.body.runId],
    session: [session, openSession],
    apiKey: [keys.fuzz, keys.other],
    streamToken: [...runs.map((run) => run.streamToken), turn.body.streamToken],
    eventId: [...new Set(events.map((event) => event.id))],
    callId: ['call_0', 'call_1'],
    cursor: withAltered(cursors),
  };
}
