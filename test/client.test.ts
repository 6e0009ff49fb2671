import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ApiError, createClient, reconnectDelay, RunTranscript, collectTranscript, type RunEvent, type StepRecord } from 'durable-agents/client';
import { resolveAccess } from '../src/api/auth/access';
import { StreamTokens } from '../src/api/auth/stream-tokens';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer, type Responder } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { deleteFileTool } from './helpers/delete-file-tool';
import { startChild, type Child } from './helpers/processes';
import { assertIncreasingIds } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The typed client (durable-agents/client) against the real stack: runs, approvals, cancel,
// sessions, lists, errors, and streamRun, which outlives connections (an API killed and started
// again, an expired stream token) and yields each event once.

const words = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`).join(' ');
const longText = words('w', 60);
const slowText = words('s', 60);
const restartText = words('r', 200);
const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };

/** "calc": calculator, then longText; "long", "slow", "restart": text at a pace; JSON: toolScript. */
const responder: Responder = (request) => {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const toolDone = request.messages.some((message) => message.role === 'tool');
  if (input.startsWith('calc')) {
    if (!toolDone) return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"6*7"}' }], fast) };
    return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 10, tokenDelayMs: 10 }) };
  }
  if (input.startsWith('long')) return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 10, tokenDelayMs: 10 }) };
  if (input.startsWith('slow')) return { kind: 'stream', frames: textFrames(request.model, slowText, { firstTokenDelayMs: 10, tokenDelayMs: 60 }) };
  if (input.startsWith('restart')) return { kind: 'stream', frames: textFrames(request.model, restartText, { firstTokenDelayMs: 10, tokenDelayMs: 40 }) };
  if (input.startsWith('{')) return toolScript(request);
  return { kind: 'stream', frames: textFrames(request.model, `echo: ${input}`, fast) };
};

const keys = { acme: 'acme-client-key-0123456789abcdef', globex: 'globex-client-key-0123456789abcdef', lister: `lister-${randomUUID()}` };
let temporal: TestTemporal;
let stack: TestStack;
let limited: TestStack;

/** Every request the client made: method, path, status. */
function recordingFetch(log: string[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    log.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname} ${response.status}`);
    return response;
  };
}

/** Events that name a place of their own (usage.updated, run.queued and stream.live repeat one). */
const placed = (events: RunEvent[]) => events.filter((event) => !['usage.updated', 'run.queued', 'stream.live'].includes(event.event));

function assertEachOnce(events: RunEvent[]): void {
  const ids = placed(events).map((event) => event.id);
  assert.equal(new Set(ids).size, ids.length, `no event twice: ${ids.join(' ')}`);
  assertIncreasingIds(placed(events).map((event) => ({ ...event, at: 0 })));
}

const llmTexts = (steps: StepRecord[]) => new Map(steps.flatMap((step) => (step.kind === 'llm' && step.text ? [[step.step, step.text] as const] : [])));

before(async () => {
  temporal = await startTemporal();
  const config = loadConfig({});
  stack = await startTestStack(temporal, responder, {
    tools: new ToolRegistry([calculatorTool, deleteFileTool()]),
    access: resolveAccess({ mode: 'auto', keys: Object.entries(keys).map(([tenant, key]) => `${tenant}:${key}`).join(','), host: '127.0.0.1' }),
    // Tokens expire within two seconds: a reconnect after that needs a fresh one.
    streamTokens: new StreamTokens(undefined, 2),
    stream: { retryMs: 100 },
  });
  limited = await startTestStack(temporal, responder, {
    access: resolveAccess({ mode: 'auto', keys: `acme:${keys.acme}`, host: '127.0.0.1' }),
    limits: { ...config.limits, writesPerMinute: 2 },
  });
});

after(async () => {
  await stack?.close();
  await limited?.close();
  await temporal?.teardown();
});

describe('the package', () => {
  test('when a browser loads durable-agents/client, then it finds no Node built-ins and no server code in it', () => {
    const directory = fileURLToPath(new URL('../src/client/', import.meta.url));
    for (const file of readdirSync(directory)) {
      const source = readFileSync(join(directory, file), 'utf8');
      for (const [statement, typeOnly, from] of source.matchAll(/^(?:import|export) (type )?[^;]*? from '([^']+)'/gms)) {
        assert.ok(from!.startsWith('./') || from!.startsWith('../shared/') || from === 'eventsource-parser/stream', `${file} imports ${from}`);
        // What it takes from src/shared is types only: none of the server's code comes along.
        if (from!.startsWith('../shared/')) assert.ok(typeOnly, `${file}: ${statement} must import types only`);
      }
    }
  });

  test('when connections keep failing, then the delay doubles from the base, spreads, and stays under the cap', () => {
    assert.equal(reconnectDelay(1000, 0, 30_000, () => 0), 1000);
    assert.equal(reconnectDelay(1000, 3, 30_000, () => 1), 8000);
    assert.equal(reconnectDelay(1000, 3, 30_000, () => 0), 4000);
    assert.equal(reconnectDelay(1000, 20, 30_000, () => 1), 30_000);
    assert.equal(reconnectDelay(5000, 0, 1000, () => 0), 5000, 'never sooner than the server asked');
  });
});

describe('streamRun against a scripted server', () => {
  /** A fetch that answers each call with the next script entry; `seen` has each call's Last-Event-ID and time. */
  function scripted(answers: Array<() => Response>, seen: Array<{ lastEventId: string | null; at: number }>): typeof fetch {
    return async (_input, init) => {
      seen.push({ lastEventId: new Headers(init?.headers).get('last-event-id'), at: Date.now() });
      const next = answers.shift();
      if (!next) throw new Error('the script ran out');
      return next();
    };
  }
  const sse = (text: string) => () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  const frame = (id: string, event: string, data: object) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify({ runId: 'run_x', ...data })}\n\n`;

  test('when the server fails, drops the stream and ends with 204, then the client waits retry: ms, resumes with Last-Event-ID, and stops', async () => {
    const seen: Array<{ lastEventId: string | null; at: number }> = [];
    const fetch = scripted(
      [
        () => Response.json({ error: { code: 'internal_error', message: 'down' } }, { status: 503 }),
        sse(`retry: 300\n\n${frame('0.0.0', 'run.started', { step: 0, input: 'x', model: 'm' })}${frame('1.0.0', 'step.started', { step: 1, kind: 'llm' })}`),
        sse(frame('1.1.5', 'text.delta', { step: 1, attempt: 1, delta: 'hello' })),
        () => new Response(null, { status: 204 }),
      ],
      seen,
    );
    const client = createClient({ baseUrl: 'http://api.invalid', apiKey: 'k', fetch });
    const stream = client.streamRun('run_x', { reconnect: { initialDelayMs: 50 } });
    const events: RunEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events.map((event) => event.id), ['0.0.0', '1.0.0', '1.1.5']);
    assert.deepEqual(seen.map((call) => call.lastEventId), [null, null, '1.0.0', '1.1.5']);
    assert.ok(seen[2]!.at - seen[1]!.at >= 290, `the server's retry: 300 was honoured (${seen[2]!.at - seen[1]!.at} ms)`);
    assert.equal(stream.lastEventId, '1.1.5');
    assert.equal(stream.done, true);
  });

  test('when the answer is a 4xx, then streamRun throws its ApiError at once; when the caller aborts, it stops waiting', async () => {
    const seen: Array<{ lastEventId: string | null; at: number }> = [];
    const notFound = scripted([() => Response.json({ error: { code: 'run_not_found', message: 'no run' } }, { status: 404 })], seen);
    const error = await collectTranscript(createClient({ baseUrl: 'http://api.invalid', fetch: notFound }).streamRun('run_x')).catch((caught: unknown) => caught);
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'run_not_found');
    assert.equal(seen.length, 1, 'not retried');

    const down = scripted(Array.from({ length: 5 }, () => () => Response.json({ error: { code: 'x', message: 'y' } }, { status: 502 })), []);
    const began = Date.now();
    const aborted = await collectTranscript(createClient({ baseUrl: 'http://api.invalid', fetch: down }).streamRun('run_x', { signal: AbortSignal.timeout(300), reconnect: { initialDelayMs: 10_000 } })).catch((caught: unknown) => caught);
    assert.equal((aborted as Error).name, 'TimeoutError');
    assert.ok(Date.now() - began < 2000, 'the backoff wait ended with the signal');
  });
});

describe('the client against the stack', () => {
  const acme = () => createClient({ baseUrl: stack.url, apiKey: keys.acme });

  test('when a run is created and streamed, then the transcript is exactly the run’s steps and output, live, late and resumed', async () => {
    const client = acme();
    const created = await client.createRun({ input: 'calc then answer', tools: ['calculator'] });
    assert.equal(created.status, 'running');
    const events: RunEvent[] = [];
    const stream = client.streamRun(created.runId);
    const transcript = await collectTranscript(stream, (event) => void events.push(event));
    assertEachOnce(events);
    assert.equal(transcript.end?.event, 'run.completed');
    assert.equal(stream.lastEventId, 'done');
    assert.ok(events.filter((event) => event.event === 'text.delta').length > 20, 'token by token');
    const run = await client.getRun(created.runId);
    assert.equal(run.status, 'completed');
    assert.equal(run.output, longText);
    assert.deepEqual(transcript.stepTexts, llmTexts(run.steps));
    assert.equal(transcript.text, longText);
    assert.equal(events.find((event) => event.event === 'tool.completed')?.data.step, 2);
    assert.deepEqual((await client.getRun(created.runId, { fromStep: 3 })).steps.map((step) => step.step), [3]);

    // Late: the whole run again, rebuilt from durable state (a finished step's text in one delta).
    const late = await collectTranscript(client.streamRun(created.runId));
    assert.deepEqual(late.stepTexts, transcript.stepTexts);
    // Resumed from any event: exactly the rest.
    const middle = placed(events).findIndex((event) => event.event === 'text.delta') + 10;
    const resumed = new RunTranscript();
    for (const event of placed(events).slice(0, middle + 1)) resumed.add(event);
    const rest: RunEvent[] = [];
    await collectTranscript(client.streamRun(created.runId, { lastEventId: placed(events)[middle]!.id }), (event) => {
      resumed.add(event);
      rest.push(event);
    });
    assertEachOnce([...placed(events).slice(0, middle + 1), ...rest]);
    assert.deepEqual(resumed.stepTexts, transcript.stepTexts);
    // From its end, or from the live edge of a finished run: nothing more (the API answers 204).
    const log: string[] = [];
    const recorded = createClient({ baseUrl: stack.url, apiKey: keys.acme, fetch: recordingFetch(log) });
    assert.equal((await collectTranscript(recorded.streamRun(created.runId, { from: 'latest' }))).end, undefined);
    assert.deepEqual(log, [`GET /v1/runs/${created.runId}/events 204`]);
  });

  test('when a stream starts at the live edge of a running run, then it gets only what comes next, whole', async () => {
    const client = acme();
    const created = await client.createRun({ input: 'slow at the edge' });
    const first = client.streamRun(created.runId);
    for await (const event of first) if (event.event === 'text.delta' && event.data.delta.includes('s5')) break;
    const events: RunEvent[] = [];
    const transcript = await collectTranscript(client.streamRun(created.runId, { from: 'latest' }), (event) => void events.push(event));
    assert.equal(events[0]!.event, 'stream.live');
    assert.ok(!events.some((event) => event.event === 'run.started'), 'no history');
    assert.equal(transcript.end?.event, 'run.completed');
    assert.ok(slowText.endsWith(transcript.text) && transcript.text.length < slowText.length, 'the rest of the text, from the edge on');
  });

  test('when the stream token expires mid-stream, then the client mints a fresh one with its key and goes on', async () => {
    const log: string[] = [];
    const client = createClient({ baseUrl: stack.url, apiKey: keys.acme, fetch: recordingFetch(log) });
    const created = await client.createRun({ input: 'slow with a token' });
    const expiresAt = Date.parse(created.streamTokenExpiresAt);
    let dropped = false;
    const events: RunEvent[] = [];
    const stream = client.streamRun(created.runId, { streamToken: created.streamToken });
    const transcript = await collectTranscript(stream, (event) => {
      events.push(event);
      // Past the token's expiry: cut every connection, so the client must come back with a token.
      if (!dropped && event.event === 'text.delta' && Date.now() > expiresAt + 200) {
        dropped = true;
        stack.server.closeAllConnections();
      }
    });
    assert.ok(dropped, 'the connection was cut after the token expired');
    assert.equal(transcript.end?.event, 'run.completed');
    assert.equal(transcript.text, slowText);
    assertEachOnce(events);
    const events401 = log.indexOf(`GET /v1/runs/${created.runId}/events 401`);
    assert.ok(events401 > 0, log.join('\n'));
    assert.equal(log[events401 + 1], `POST /v1/runs/${created.runId}/stream-tokens 201`);
    assert.equal(log[events401 + 2], `GET /v1/runs/${created.runId}/events 200`);
  });

  test('when a browser has only a stream token and a way to refresh it, then it streams without a key', async () => {
    const created = await acme().createRun({ input: 'long for a browser' });
    await new Promise((resolve) => setTimeout(resolve, Date.parse(created.streamTokenExpiresAt) - Date.now() + 100));
    let refreshed = 0;
    const browser = createClient({
      baseUrl: stack.url,
      refreshStreamToken: async (runId) => {
        refreshed++;
        return (await acme().createStreamToken(runId)).streamToken;
      },
    });
    const transcript = await collectTranscript(browser.streamRun(created.runId, { streamToken: created.streamToken }));
    assert.equal(refreshed, 1);
    assert.equal(transcript.text, longText);
    const keyless = await browser.getRun(created.runId).catch((error: unknown) => error);
    assert.ok(keyless instanceof ApiError && keyless.status === 401 && keyless.code === 'unauthorized');
  });

  test('when a call needs approval, then decide lets it run and the client sees it through', async () => {
    const client = acme();
    const created = await client.createRun({ input: toolCallScriptInput(['delete_file', { path: 'a.txt' }]), tools: ['delete_file'] });
    let decided: unknown;
    const transcript = await collectTranscript(client.streamRun(created.runId), async (event) => {
      if (event.event === 'approval.requested') {
        const pending = await client.getRun(created.runId);
        assert.deepEqual(pending.pendingApprovals.map((call) => call.callId), [event.data.callId]);
        decided = await client.decide(created.runId, event.data.callId, { approve: true, reason: 'fine' });
      }
    });
    assert.deepEqual(decided, { runId: created.runId, callId: 'call_0', decision: 'approved' });
    assert.equal(transcript.end?.event, 'run.completed');
    assert.equal(transcript.text, 'results: deleted a.txt');
    const again = await client.decide(created.runId, 'call_0', { approve: false }).catch((error: unknown) => error);
    assert.ok(again instanceof ApiError && again.status === 409 && again.code === 'run_not_running', String(again));
  });

  test('when a run is cancelled mid-stream, then the stream ends with run.cancelled and the text so far', async () => {
    const client = acme();
    const created = await client.createRun({ input: 'slow, then cancelled' });
    let deltas = 0;
    let cancelling: Promise<unknown> | undefined;
    const transcript = await collectTranscript(client.streamRun(created.runId), (event) => {
      if (event.event === 'text.delta' && ++deltas === 5) cancelling = client.cancel(created.runId);
    });
    assert.equal(((await cancelling) as { status: string }).status, 'cancelling');
    assert.equal(transcript.end?.event, 'run.cancelled');
    const partial = transcript.end?.event === 'run.cancelled' ? transcript.end.data.partial : '';
    assert.equal(transcript.text, partial);
    assert.ok(partial.length > 0 && partial.length < slowText.length);
    assert.equal((await client.getRun(created.runId)).status, 'cancelled');
    const again = await client.cancel(created.runId).catch((error: unknown) => error);
    assert.ok(again instanceof ApiError && again.code === 'run_not_running');
  });

  test('when a session gets messages, then each turn streams like a run and the session lists them', async () => {
    const client = acme();
    const session = await client.createSession({ system: 'Be brief.' });
    const first = await client.sendMessage(session.sessionId, { input: 'hello there' });
    assert.equal((await collectTranscript(client.streamRun(first.runId))).text, 'echo: hello there');
    const second = await client.sendMessage(session.sessionId, { input: 'and again' });
    assert.equal((await collectTranscript(client.streamRun(second.runId, { streamToken: second.streamToken }))).text, 'echo: and again');
    const state = await client.getSession(session.sessionId);
    assert.deepEqual(state.turns.map((turn) => [turn.runId, turn.status]), [[first.runId, 'completed'], [second.runId, 'completed']]);
    const foreign = await createClient({ baseUrl: stack.url, apiKey: keys.globex }).getSession(session.sessionId).catch((error: unknown) => error);
    assert.ok(foreign instanceof ApiError && foreign.code === 'session_not_found');
  });

  test('when the caller lists runs, then pages come newest first with a cursor until the last', async () => {
    const client = createClient({ baseUrl: stack.url, apiKey: keys.lister });
    const runIds: string[] = [];
    for (const input of ['one', 'two', 'three']) {
      const { runId } = await client.createRun({ input });
      await collectTranscript(client.streamRun(runId));
      runIds.push(runId);
    }
    const newestFirst = [...runIds].reverse();
    // Temporal's visibility store follows its histories by a moment.
    for (let tries = 0; (await client.listRuns({ status: 'completed' })).runs.length < 3 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 200));
    const first = await client.listRuns({ limit: 2 });
    assert.deepEqual(first.runs.map((run) => run.runId), newestFirst.slice(0, 2));
    assert.ok(first.nextCursor);
    const second = await client.listRuns({ limit: 2, cursor: first.nextCursor });
    assert.deepEqual(second.runs.map((run) => run.runId), newestFirst.slice(2));
    assert.equal(second.nextCursor, undefined);
    const all: string[] = [];
    for await (const run of client.allRuns({ limit: 1, status: 'completed' })) all.push(run.runId);
    assert.deepEqual(all, newestFirst);
    assert.deepEqual((await client.listRuns({ status: 'running' })).runs, []);
    const bad = await client.listRuns({ cursor: 'not-a-cursor' }).catch((error: unknown) => error);
    assert.ok(bad instanceof ApiError && bad.status === 400, String(bad));
  });

  test('when the API refuses, then every method throws an ApiError with its status and code', async () => {
    const client = acme();
    const codes = async (call: Promise<unknown>) => {
      const error = await call.then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof ApiError, String(error));
      return [error.status, error.code];
    };
    assert.deepEqual(await codes(client.getRun('run_missing')), [404, 'run_not_found']);
    assert.deepEqual(await codes(client.createRun({ input: '' })), [400, 'invalid_request']);
    assert.deepEqual(await codes(client.createRun({ input: 'x', tools: ['no_such_tool'] })), [400, 'invalid_request']);
    assert.deepEqual(await codes(createClient({ baseUrl: stack.url, apiKey: 'wrong-key-0123456789abcdef' }).listTools()), [401, 'unauthorized']);
    const { runId } = await client.createRun({ input: 'long, and private' });
    const globex = createClient({ baseUrl: stack.url, apiKey: keys.globex });
    assert.deepEqual(await codes(globex.getRun(runId)), [404, 'run_not_found']);
    assert.deepEqual(await codes(collectTranscript(globex.streamRun(runId))), [404, 'run_not_found']);
    assert.deepEqual(await codes(client.decide(runId, 'call_9', { approve: true })), [409, 'approval_not_pending']);
    await collectTranscript(client.streamRun(runId));
    assert.deepEqual(await codes(collectTranscript(client.streamRun(runId, { lastEventId: 'nonsense' }))), [400, 'invalid_last_event_id']);
    const tools = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['calculator', 'delete_file']);
    assert.equal(tools.find((tool) => tool.name === 'delete_file')?.policy.needsApproval, true);

    const writer = createClient({ baseUrl: limited.url, apiKey: keys.acme });
    await codes(writer.cancel('run_missing'));
    await codes(writer.cancel('run_missing'));
    const limitedError = await writer.cancel('run_missing').catch((error: unknown) => error);
    assert.ok(limitedError instanceof ApiError && limitedError.status === 429 && limitedError.code === 'rate_limited', String(limitedError));
    assert.ok(limitedError.retryAfterMs! > 0, 'Retry-After read');
  });
});

describe('an API process killed mid-stream', () => {
  const secret = randomBytes(24).toString('hex');
  const key = 'restart-client-key-0123456789abcdef';
  const children: Child[] = [];
  let model: ModelServer;
  let env: Record<string, string>;

  before(async () => {
    model = await startModelServer(responder);
    env = { TEMPORAL_ADDRESS: temporal.address, RELAY_SECRET: secret, OPENAI_BASE_URL: model.baseURL, TASK_QUEUE: `client-${randomUUID()}`, API_KEYS: `acme:${key}` };
    const worker = startChild('src/worker.ts', { ...env, STREAM_PORT: '0' });
    children.push(worker);
    await worker.waitFor(/worker polling/);
  });

  after(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await model?.close();
  });

  const startApi = async (port: number) => {
    const api = startChild('src/api/server.ts', { ...env, PORT: String(port) });
    children.push(api);
    return { api, url: (await api.waitFor(/API: (http:\/\/\S+)/))[1]! };
  };

  test('when the API is killed and started again on its port, then the iterator goes on by itself and the text is whole, each event once', async () => {
    const first = await startApi(0);
    const log: string[] = [];
    const client = createClient({ baseUrl: first.url, apiKey: key, fetch: recordingFetch(log) });
    const created = await client.createRun({ input: 'restart the api' });
    const events: RunEvent[] = [];
    let restarted: Promise<unknown> | undefined;
    let killedAt = 0;
    const transcript = new RunTranscript();
    for await (const event of client.streamRun(created.runId, { reconnect: { maxDelayMs: 2000 } })) {
      events.push(event);
      transcript.add(event);
      if (!restarted && events.filter((candidate) => candidate.event === 'text.delta').length === 20) {
        killedAt = events.length;
        first.api.process.kill('SIGKILL');
        restarted = first.api.exited.then(() => startApi(Number(new URL(first.url).port)));
      }
    }
    await restarted;
    assert.equal(transcript.end?.event, 'run.completed');
    assert.equal(transcript.text, restartText);
    assertEachOnce(events);
    const connections = log.filter((line) => line.startsWith(`GET /v1/runs/${created.runId}/events 200`));
    assert.ok(connections.length >= 2, `reconnected: ${log.join(', ')}`);
    assert.ok(events.slice(killedAt).some((event) => event.event === 'text.delta'), 'text came after the restart');
  });
});
