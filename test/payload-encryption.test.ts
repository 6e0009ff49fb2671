import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { resolveAccess } from '../src/api/auth/access';
import { sha256 } from '../src/api/auth/api-keys';
import { codecSettings, temporalDataConverter } from '../src/codec';
import { ConfigError, loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { RemoteRelay } from '../src/relay/remote-relay';
import { findTemporalCli } from '../src/temporal/cli';
import { startDevServer } from '../src/temporal/dev-server';
import { fetchExecutionHistory, type HistoryEvent } from '../src/temporal/history';
import { workflowBundle } from '../src/worker';
import { freePort } from '../src/temporal/free-port';
import { assembleText, readSse } from './helpers/sse';
import { runHistories } from './helpers/history';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// PAYLOAD_KEYS: what Temporal stores of a run (inputs, tool results, failures, heartbeat details,
// memos, the answer) is ciphertext; the API, the worker, replay and the codec endpoint read it
// with the keys, and a rotated key still reads old runs.

const markers = {
  task: 'TASK-MARKER-7f3a',
  file: 'FILE-MARKER-c0de',
  failure: 'FAILURE-MARKER-4e5d',
  answer: 'ANSWER-MARKER-91b2',
  system: 'SYSTEM-MARKER-a11c',
};
const answer = `${markers.answer} ${'token '.repeat(150)}`.trim();

function reply(request: ChatRequest): Reply {
  const toolResults = request.messages.filter((message) => message.role === 'tool').length;
  const task = request.messages.find((message) => message.role === 'user')?.content ?? '';
  if (task.startsWith('long')) {
    // Eight model steps, each reading a 200 KB file: big encrypted results across executions.
    const text = `Step ${toolResults + 1} ${markers.answer} `;
    if (toolResults >= 7) return { kind: 'stream', frames: textFrames(request.model, `${text}done.`, { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
    return {
      kind: 'stream',
      frames: [
        ...textFrames(request.model, text, { firstTokenDelayMs: 0, tokenDelayMs: 0 }).slice(0, -1),
        ...toolCallFrames(request.model, [{ id: `call_${toolResults}`, name: 'read_file', arguments: JSON.stringify({ path: 'big.txt' }) }], { firstTokenDelayMs: 0, tokenDelayMs: 0 }),
      ],
    };
  }
  if (toolResults === 0) {
    return {
      kind: 'stream',
      frames: toolCallFrames(
        request.model,
        [
          { id: 'call_read', name: 'read_file', arguments: JSON.stringify({ path: 'secret.txt' }) },
          { id: 'call_flaky', name: 'flaky', arguments: '{}' },
        ],
        { firstTokenDelayMs: 0, tokenDelayMs: 0 },
      ),
    };
  }
  // Slow enough for the test to see the step's heartbeat details while it streams.
  return { kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 0, tokenDelayMs: 20 }) };
}

/** A tool whose only attempt fails with a message that quotes what it saw. */
const flakyTool = {
  name: 'flaky',
  description: 'fails',
  parameters: z.object({}),
  idempotent: true,
  retry: { maximumAttempts: 1 },
  run() {
    throw new Error(`could not open ${markers.failure}`);
  },
};

const key = (bytes = randomBytes(32)) => bytes.toString('base64');
const oldKey = key();
// Fixed, and test-only: the committed encrypted history (test/fixtures/encrypted-histories; test/replay.test.ts replays the others without keys) is sealed with it.
const newKey = Buffer.from('a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778', 'hex').toString('base64');
const fixture = join(import.meta.dirname, 'fixtures', 'encrypted-histories', 'encrypted-run.binpb');
const codecKey = 'ops-codec-key-0123456789abcdef';
const plainKey = 'acme-runs-key-0123456789abcdef';

let temporal: TestTemporal;
let stack: TestStack;
let longStack: TestStack;
let encryptedClient: Client;
let runId: string;
let executionId: string;
let heartbeatPayload: proto.temporal.api.common.v1.IPayload | undefined;
let inFlightRelay: string | undefined;

/** Every payload in an event, with the field it sits in (search attributes are indexed, never encrypted). */
function payloadsOf(value: unknown, path: string, out: Array<{ path: string; payload: proto.temporal.api.common.v1.IPayload }>): void {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => payloadsOf(item, `${path}[${index}]`, out));
    return;
  }
  const record = value as Record<string, unknown>;
  if (record.metadata && typeof record.metadata === 'object' && 'data' in record && !path.endsWith('indexedFields')) {
    out.push({ path, payload: record as proto.temporal.api.common.v1.IPayload });
    return;
  }
  for (const [name, child] of Object.entries(record)) {
    if (name === 'searchAttributes') continue;
    payloadsOf(child, `${path}.${name}`, out);
  }
}

const encodingOf = (payload: proto.temporal.api.common.v1.IPayload) => Buffer.from(payload.metadata?.encoding ?? new Uint8Array()).toString();
const toJson = (payload: proto.temporal.api.common.v1.IPayload) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

async function history(): Promise<HistoryEvent[]> {
  // Read with a client that has no keys: what anyone with access to Temporal (or its database) sees.
  return (await fetchExecutionHistory(temporal.client, runId, executionId)).events;
}

/** The execution as Temporal describes it, not decoded (the SDK's describe() decodes the memo). */
const rawDescription = () => temporal.client.workflowService.describeWorkflowExecution({ namespace: temporal.namespace ?? 'default', execution: { workflowId: runId } });

before(async () => {
  temporal = await startTemporal();
  const config = loadConfig({ PAYLOAD_KEYS: `new:${newKey}, old:${oldKey}` });
  const dataConverter = temporalDataConverter(config.payloadKeys);
  const namespace = temporal.namespace ?? 'default';
  encryptedClient = new Client({ connection: temporal.connection, namespace, dataConverter });
  const workspace = mkdtempSync(join(tmpdir(), 'encrypted-workspace-'));
  writeFileSync(join(workspace, 'secret.txt'), `the file says ${markers.file}\n`);
  writeFileSync(join(workspace, 'big.txt'), `${markers.file} ${'lorem ipsum '.repeat(17_000)}`);
  const settings = { ...config.tools, workspaceDir: workspace };
  const keysFile = join(mkdtempSync(join(tmpdir(), 'codec-keys-')), 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { id: 'ops', sha256: sha256(codecKey).toString('hex'), tenant: 'ops', scopes: ['codec'] },
      { id: 'acme', sha256: sha256(plainKey).toString('hex'), tenant: 'acme', scopes: ['runs:write', 'runs:read'] },
    ]),
  );
  stack = await startTestStack(temporal, reply, {
    client: encryptedClient,
    eagerClient: new Client({ connection: temporal.nativeConnection, namespace, dataConverter }),
    dataConverter,
    codec: codecSettings(config, 'http://localhost:8233'),
    tools: new ToolRegistry([...defaultTools(settings), flakyTool]),
    toolSettings: settings,
    access: resolveAccess({ mode: 'auto', keysFile, host: '127.0.0.1' }),
  });
  // The same, with tiny history limits: a long run continues as new at every step.
  longStack = await startTestStack(temporal, reply, {
    client: encryptedClient,
    eagerClient: new Client({ connection: temporal.nativeConnection, namespace, dataConverter }),
    dataConverter,
    tools: new ToolRegistry(defaultTools(settings)),
    toolSettings: settings,
    access: resolveAccess({ mode: 'auto', keysFile, host: '127.0.0.1' }),
    limits: { ...config.limits, maxSteps: 20, history: { events: 1, bytes: 1 } },
  });
  const started = await stack.post('/v1/runs', { input: `please ${markers.task}`, system: markers.system }, { authorization: `Bearer ${plainKey}` });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  runId = started.body.runId;
  executionId = started.body.links.temporalUi.split('/').at(-2);
  // While the answer streams: the step's heartbeat details, raw and through the API's relay reader.
  const relay = new RemoteRelay({ client: encryptedClient, namespace, taskQueue: stack.taskQueue, secret: randomBytes(32).toString('hex'), log: () => undefined });
  const deadline = Date.now() + 30_000;
  while ((!heartbeatPayload || !inFlightRelay) && Date.now() < deadline) {
    const description = await rawDescription();
    const pending = description.pendingActivities?.find((activity) => activity.heartbeatDetails?.payloads?.length);
    if (pending) {
      heartbeatPayload = pending.heartbeatDetails!.payloads![0]!;
      inFlightRelay = (await relay.inFlight(runId))[0]?.relay;
    }
    if (!heartbeatPayload || !inFlightRelay) await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

after(async () => {
  await longStack?.close();
  await stack?.close();
  await temporal?.teardown();
});

describe('payloads encrypted at rest', () => {
  test('the run works end to end: its stream and its state read through the keys', async () => {
    const stream = await readSse(`${stack.url}${`/v1/runs/${runId}/events`}`, { headers: { authorization: `Bearer ${plainKey}` } });
    assert.equal(stream.events.at(-1)?.event, 'run.completed');
    assert.equal([...assembleText(stream.events).values()].at(-1), answer);
    const completed = stream.events.filter((event) => event.event === 'tool.completed').map((event) => event.data);
    assert.ok(completed.some((event) => JSON.stringify(event).includes(markers.file)), 'the tool result reached the stream');
    assert.ok(stream.events.some((event) => event.event.startsWith('tool.') && JSON.stringify(event.data).includes(markers.failure)), 'the failure message reached the stream');
    const state = await fetch(`${stack.url}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${plainKey}` } });
    assert.equal(state.status, 200);
    const body = (await state.json()) as any;
    assert.equal(body.status, 'completed');
    assert.equal(body.output, answer);
  });

  test('the raw history holds no plaintext: every payload and failure is ciphertext', async () => {
    const events = await history();
    const found: Array<{ path: string; payload: proto.temporal.api.common.v1.IPayload }> = [];
    events.forEach((event, index) => payloadsOf(event, `event[${index}]`, found));
    assert.ok(found.length >= 10, `payloads found: ${found.length}`);
    for (const { path, payload } of found) {
      // The SDK's own patch markers name a patch of our workflow code (`bounded-history`), not data.
      if (/markerRecordedEventAttributes\.details\.patch-data/.test(path)) continue;
      assert.equal(encodingOf(payload), 'binary/encrypted', `${path} is ${encodingOf(payload)}`);
      assert.ok(['new'].includes(Buffer.from(payload.metadata!['encryption-key-id']!).toString()), `${path} names the current key`);
    }
    const failed = events.filter((event) => event.activityTaskFailedEventAttributes);
    assert.ok(failed.length >= 1, 'the flaky tool failed once');
    for (const event of failed) {
      const failure = event.activityTaskFailedEventAttributes!.failure!;
      assert.equal(failure.message, 'Encoded failure', 'the message is in the encrypted attributes');
      assert.equal(encodingOf(failure.encodedAttributes!), 'binary/encrypted');
    }
    const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode({ events }).finish());
    for (const [name, marker] of Object.entries(markers)) assert.equal(bytes.includes(marker), false, `the ${name} is in the raw history`);
    // The tenant is a search attribute (plain by design: an id, never content); its memo is sealed.
    const description = await rawDescription();
    assert.equal(encodingOf(description.workflowExecutionInfo!.memo!.fields!.tenant!), 'binary/encrypted');
  });

  test('heartbeat details are ciphertext in Temporal, and the relay reader decodes them', () => {
    assert.ok(heartbeatPayload, 'a heartbeat was seen while the answer streamed');
    assert.equal(encodingOf(heartbeatPayload!), 'binary/encrypted');
    assert.match(inFlightRelay ?? '', /^(memory|https?):/, `decoded heartbeat details name the worker's stream (${inFlightRelay})`);
  });

  test('the encrypted history replays with the keys, and so does the committed one', async () => {
    const events = await history();
    if (process.env.RECORD_HISTORIES === '1' && !existsSync(fixture)) writeFileSync(fixture, proto.temporal.api.history.v1.History.encode({ events }).finish());
    const dataConverter = temporalDataConverter(loadConfig({ PAYLOAD_KEYS: `new:${newKey}` }).payloadKeys);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle({ encryptFailures: true }), dataConverter }, { events }, runId);
    const committed = proto.temporal.api.history.v1.History.decode(readFileSync(fixture));
    assert.ok(committed.events.some((event) => event.activityTaskFailedEventAttributes), 'the fixture holds an encrypted failure');
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle({ encryptFailures: true }), dataConverter }, committed, 'encrypted-run');
  });

  test('a rotated key still reads old runs; a payload sealed with a removed key says which', async () => {
    const rotated = new Client({ connection: temporal.connection, namespace: temporal.namespace ?? 'default', dataConverter: temporalDataConverter(loadConfig({ PAYLOAD_KEYS: `newer:${key()},new:${newKey}` }).payloadKeys) });
    const description = await rotated.workflow.getHandle(runId).describe();
    assert.equal(description.memo?.tenant, 'acme');
    const withoutIt = new Client({ connection: temporal.connection, namespace: temporal.namespace ?? 'default', dataConverter: temporalDataConverter(loadConfig({ PAYLOAD_KEYS: `newer:${key()}` }).payloadKeys) });
    await assert.rejects(withoutIt.workflow.getHandle(runId).describe(), /encrypted with the key "new", which is not in PAYLOAD_KEYS/);
  });
});

describe('a long run, encrypted', () => {
  test('eight steps with 200 KB results continue as new under encryption; every execution is ciphertext and the whole run reads back', async () => {
    const auth = { authorization: `Bearer ${plainKey}` };
    const started = await longStack.post('/v1/runs', { input: `long ${markers.task}`, maxSteps: 10 }, auth);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const longRunId = started.body.runId;
    const stream = await readSse(`${longStack.url}/v1/runs/${longRunId}/events`, { headers: auth });
    assert.equal(stream.events.at(-1)?.event, 'run.completed');
    const run = await fetch(`${longStack.url}/v1/runs/${longRunId}`, { headers: auth });
    const body = (await run.json()) as any;
    assert.equal(body.status, 'completed');
    assert.equal(body.stepCount, 15, 'eight model steps and seven tool steps');
    // Every step's text, read from the executions that hold it (queries answered through the keys).
    const transcript = body.steps.filter((step: any) => step.kind === 'llm').map((step: any) => step.text).join('');
    assert.match(transcript, /^Step 1 .*Step 8 .*done\.$/s);
    assert.equal([...assembleText(stream.events).values()].join(''), transcript);
    const executions = runHistories(temporal.client, longRunId, decodeURIComponent(started.body.links.temporalUi.split('/').at(-2)));
    const chain = await executions;
    assert.ok(chain.length >= 4, `continued as new: ${chain.length} executions`);
    for (const execution of chain) {
      const { events } = await fetchExecutionHistory(temporal.client, longRunId, execution.executionId);
      const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode({ events }).finish());
      for (const [name, marker] of Object.entries(markers)) assert.equal(bytes.includes(marker), false, `the ${name} is in execution ${execution.executionId}`);
      assert.equal(bytes.includes('lorem ipsum'), false, 'the file is not in the history');
    }
  });
});

describe('the codec endpoint', () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  test('decodes a run input for a key with the codec scope, and encodes back', async () => {
    const first = (await history())[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const response = await post('/codec/decode', { payloads: [toJson(first)] }, { authorization: `Bearer ${codecKey}`, 'x-namespace': 'default' });
    assert.equal(response.status, 200);
    const decoded = ((await response.json()) as any).payloads[0];
    assert.equal(Buffer.from(decoded.metadata.encoding, 'base64').toString(), 'json/plain');
    assert.ok(Buffer.from(decoded.data, 'base64').toString().includes(markers.task));
    const encoded = await post('/codec/encode', { payloads: [decoded] }, { authorization: `Bearer ${codecKey}` });
    const sealed = ((await encoded.json()) as any).payloads[0];
    assert.equal(Buffer.from(sealed.metadata.encoding, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(sealed.data, 'base64').includes(markers.task), false);
    const again = (await (await post('/codec/decode', { payloads: [sealed] }, { authorization: `Bearer ${codecKey}` })).json()) as any;
    assert.deepEqual(again.payloads[0], decoded);
  });

  test('needs a key with the codec scope', async () => {
    const payloads = { payloads: [] };
    const anonymous = await post('/codec/decode', payloads);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /Bearer/);
    const runsOnly = await post('/codec/decode', payloads, { authorization: `Bearer ${plainKey}` });
    assert.equal(runsOnly.status, 403);
    assert.equal(((await runsOnly.json()) as any).error.code, 'insufficient_scope');
  });

  test('bad input is a 4xx with a JSON error, a tampered payload is refused', async () => {
    const auth = { authorization: `Bearer ${codecKey}` };
    const notBase64 = await post('/codec/decode', { payloads: [{ data: '***' }] }, auth);
    assert.equal(notBase64.status, 400);
    assert.equal(((await notBase64.json()) as any).error.code, 'invalid_payloads');
    const first = toJson((await history())[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
    const bytes = Buffer.from(first.data, 'base64');
    bytes[20] = bytes[20]! ^ 1;
    const tampered = await post('/codec/decode', { payloads: [{ ...first, data: bytes.toString('base64') }] }, auth);
    assert.equal(tampered.status, 400);
    const error = ((await tampered.json()) as any).error;
    assert.equal(error.code, 'payload_not_decryptable');
    assert.equal(error.message.includes(newKey), false);
    const form = await fetch(`${stack.url}/codec/decode`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'payloads=1' });
    assert.equal(form.status, 415);
  });

  test('the Temporal UI origin may call it from a browser (CORS preflight with credentials); other origins may not', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.url}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
      });
    for (const origin of ['http://localhost:8233', 'http://127.0.0.1:8233']) {
      const response = await preflight(origin);
      assert.ok(response.status < 300, `preflight from ${origin}: ${response.status}`);
      assert.equal(response.headers.get('access-control-allow-origin'), origin);
      assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
      assert.match(response.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);
    }
    assert.equal((await preflight('https://evil.example')).headers.get('access-control-allow-origin'), null);
  });

  test('with no PAYLOAD_KEYS there is nothing to decode: 404 with a code', async () => {
    const plain = await startTestStack(temporal, reply);
    try {
      const response = await plain.post('/codec/decode', { payloads: [] });
      assert.equal(response.status, 404);
      assert.equal(response.body.error.code, 'codec_not_configured');
    } finally {
      await plain.close();
    }
  });
});

describe('PAYLOAD_KEYS settings', () => {
  test('bad keys refuse to start, naming the key id, never the key', () => {
    const short = Buffer.from('too short').toString('base64');
    const cases: Array<[string, RegExp]> = [
      [`k1:${short}`, /the key "k1" is not 32 bytes/],
      [`k1:${oldKey},k1:${newKey}`, /appears twice/],
      [oldKey, /not `id:key`/],
      [`bad id!:${oldKey}`, /a key id is/],
      [`k1:${Buffer.alloc(32).toString('base64')}`, /repeats one byte/],
      [' , ', /no key/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => loadConfig({ PAYLOAD_KEYS: value }),
        (error: Error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes(oldKey) && !error.message.includes(newKey) && !error.message.includes(short),
        value,
      );
    }
    assert.equal(loadConfig({ PAYLOAD_KEYS: `hex:${randomBytes(32).toString('hex')}` }).payloadKeys?.current.id, 'hex');
  });

  test('npm start wires the embedded Web UI to the codec endpoint', async () => {
    const cli = await findTemporalCli({ allowDownload: true });
    assert.equal(cli.kind, 'path');
    const uiPort = await freePort();
    const server = await startDevServer({
      cli,
      dataDir: mkdtempSync(join(tmpdir(), 'codec-ui-')),
      port: await freePort(),
      uiPort,
      namespace: 'default',
      log: () => undefined,
      codecEndpoint: 'http://127.0.0.1:3999/codec',
    });
    try {
      const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as any;
      assert.equal(settings.Codec?.Endpoint, 'http://127.0.0.1:3999/codec');
    } finally {
      await server.stop();
    }
  });
});
