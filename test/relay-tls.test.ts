import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { createSplitApi } from '../src/api/server';
import { ConfigError, loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { MemoryRelay } from '../src/relay/memory-relay';
import { startRelayServer } from '../src/relay/relay-server';
import { RemoteRelay } from '../src/relay/remote-relay';
import type { StreamEvent } from '../src/shared/events';
import { makeCertificates, type Certificates } from './helpers/certificates';
import { startChild, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// TLS on the relay between workers and APIs: a real `npm run worker` serving its streams over
// HTTPS with a certificate of a throwaway CA, read by API-side relays that trust that CA, another
// CA or only the system roots; a plain-http worker refused by an API that requires TLS; and the
// settings that must stop a process at start.

const secret = randomBytes(24).toString('hex');
const longText = Array.from({ length: 40 }, (_, index) => `t${index}`).join(' ');
let environment: TestTemporal;
let model: ModelServer;
let directory: string;
let trusted: Certificates;
let other: Certificates;
const children: Child[] = [];
const servers: Server[] = [];
let tlsQueue: string;
let plainQueue: string;
let tlsStreamUrl: string;
let plainStreamUrl: string;

before(async () => {
  environment = await startTemporal();
  directory = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  const certificatesIn = (name: string) => {
    mkdirSync(join(directory, name));
    return makeCertificates(join(directory, name));
  };
  trusted = certificatesIn('trusted');
  other = certificatesIn('other');
  model = await startModelServer((request) => {
    const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
    if (first.startsWith('long')) return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 300, tokenDelayMs: 25 }) };
    return toolScript(request);
  });
  const common = { TEMPORAL_ADDRESS: environment.address, RELAY_SECRET: secret, OPENAI_BASE_URL: model.baseURL, STREAM_PORT: '0' };
  tlsQueue = `relay-tls-${randomUUID()}`;
  plainQueue = `relay-plain-${randomUUID()}`;
  const tlsWorker = startChild('src/worker.ts', { ...common, TASK_QUEUE: tlsQueue, RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: trusted.serverKey });
  const plainWorker = startChild('src/worker.ts', { ...common, TASK_QUEUE: plainQueue });
  children.push(tlsWorker, plainWorker);
  const streamUrl = async (worker: Child) => (await worker.waitFor(/live streams at (\S+)/))[1]!;
  [tlsStreamUrl, plainStreamUrl] = await Promise.all([streamUrl(tlsWorker), streamUrl(plainWorker)]);
});

after(async () => {
  await Promise.all(children.map((child) => child.stop()));
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await model?.close();
  await environment?.teardown();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** An API-side relay as `npm run api` makes it, from the settings of `env`, with its log kept. */
function apiRelay(taskQueue: string, env: Record<string, string> = {}) {
  const config = loadConfig({ TEMPORAL_ADDRESS: environment.address, TASK_QUEUE: taskQueue, RELAY_SECRET: secret, ...env });
  const log: string[] = [];
  // The relay `npm run api` builds (src/api/server.ts), so its TLS settings are what is tested.
  const { relay } = createSplitApi({ config, client: environment.client, secret, tools: new ToolRegistry(defaultTools(config.tools)), log: (line) => log.push(line) });
  return { relay, log };
}

/** Starts a run through a split API on the task queue (its own relay is not what is tested). */
async function startRun(taskQueue: string, input: string): Promise<string> {
  const config = loadConfig({ TEMPORAL_ADDRESS: environment.address, TASK_QUEUE: taskQueue, RELAY_SECRET: secret });
  const { app } = createSplitApi({ config, client: environment.client, secret, tools: new ToolRegistry(defaultTools(config.tools)), log: () => undefined });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  servers.push(server);
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  assert.equal(response.status, 202);
  return ((await response.json()) as { runId: string }).runId;
}

/** Everything a relay delivers for a run, as it arrives (with the arrival time). */
function watch(relay: RemoteRelay, runId: string) {
  const subscription = relay.subscribe(runId);
  const events: Array<StreamEvent & { at: number }> = [];
  void (async () => {
    // A closed subscription never resolves again, so this loop just stops.
    for (;;) events.push({ ...(await subscription.next()), at: Date.now() });
  })();
  return {
    events,
    of: (type: string) => events.filter((event) => event.event === type),
    text: () => events.filter((event) => event.event === 'text.delta').map((event) => (event.data as { delta: string }).delta).join(''),
    close: () => subscription.close(),
  };
}

/** Resolves once `condition` holds; fails after `ms`. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a worker that serves its streams over TLS', () => {
  test('when an API trusts the CA of the worker\'s certificate, then a run\'s tokens stream live over https; APIs that do not trust it never read the stream and fall back to heartbeat details', async () => {
    assert.match(tlsStreamUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const trusting = apiRelay(tlsQueue, { RELAY_TLS_CA_FILE: trusted.caCert });
    const otherCa = apiRelay(tlsQueue, { RELAY_TLS_CA_FILE: other.caCert });
    const systemRoots = apiRelay(tlsQueue);
    // The worker prints its address just before it starts polling: Temporal lists it a moment later.
    await eventually(async () => (await trusting.relay.workerUrlsFresh()).includes(tlsStreamUrl), 'the worker\'s identity advertises its https address');

    const [textRun, toolRun] = await Promise.all([startRun(tlsQueue, 'long answer'), startRun(tlsQueue, toolCallScriptInput(['wait', { seconds: 4 }]))]);
    const watching = [trusting, otherCa, systemRoots].map(({ relay }) => ({ text: watch(relay, textRun), tool: watch(relay, toolRun) }));
    const [fromTrusting, fromOtherCa, fromSystemRoots] = watching;
    try {
      await eventually(() => fromTrusting!.text.text() === longText, 'the whole text through the https stream');
      const request = model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === 'long answer'))!;
      assert.ok(fromTrusting!.text.of('text.delta')[0]!.at < request.completedAt!, 'the first token arrived while the model was still streaming');
      await environment.client.workflow.getHandle(toolRun).result();
      assert.ok(fromTrusting!.tool.of('tool.progress').length >= 1, 'tool progress through the https stream');

      for (const [name, untrusting, watched] of [['another CA', otherCa, fromOtherCa!], ['the system roots', systemRoots, fromSystemRoots!]] as const) {
        assert.equal(watched.text.of('text.delta').length, 0, `an API trusting ${name} got no token from the worker`);
        assert.ok(untrusting.relay.unreachable.has(tlsStreamUrl), `an API trusting ${name} treats the worker as unreachable`);
        const refusal = untrusting.log.find((line) => line.includes(tlsStreamUrl));
        assert.match(refusal ?? '', /unreachable \(.*certificate.*\); reading progress from heartbeat details/i, `an API trusting ${name} says why`);
        assert.equal(untrusting.log.filter((line) => line.includes(tlsStreamUrl)).length, 1, 'said once');
        assert.ok(watched.tool.of('tool.progress').length >= 1, `an API trusting ${name} still shows tool progress, from heartbeat details`);
      }
    } finally {
      for (const watched of watching) {
        watched.text.close();
        watched.tool.close();
      }
    }
  });
});

describe('an API with RELAY_TLS_REQUIRED', () => {
  test('when a worker advertises a plain http address, then the API never reads it, says so once and falls back to heartbeat details', async () => {
    assert.match(plainStreamUrl, /^http:\/\//);
    const requiring = apiRelay(plainQueue, { RELAY_TLS_REQUIRED: 'true', RELAY_TLS_CA_FILE: trusted.caCert });
    // The same worker read by an API that does not require TLS: what the refusal withholds.
    const lenient = apiRelay(plainQueue);
    const [textRun, toolRun] = await Promise.all([startRun(plainQueue, 'long answer'), startRun(plainQueue, toolCallScriptInput(['wait', { seconds: 4 }]))]);
    const watching = [requiring, lenient].map(({ relay }) => ({ text: watch(relay, textRun), tool: watch(relay, toolRun) }));
    const [fromRequiring, fromLenient] = watching;
    try {
      await eventually(() => fromLenient!.text.text() === longText, 'the whole text through the plain stream, for the lenient API');
      await environment.client.workflow.getHandle(toolRun).result();
      assert.equal(fromRequiring!.text.of('text.delta').length, 0, 'not one token read over plain http');
      assert.ok(fromRequiring!.tool.of('tool.progress').length >= 1, 'tool progress from heartbeat details');
      const refusals = requiring.log.filter((line) => line.includes(plainStreamUrl));
      assert.equal(refusals.length, 1, `refused and said once: ${requiring.log.join(' / ')}`);
      assert.match(refusals[0]!, /plain http and RELAY_TLS_REQUIRED is set; not contacted, reading progress from heartbeat details/);
    } finally {
      for (const watched of watching) {
        watched.text.close();
        watched.tool.close();
      }
    }
  });
});

describe('relay TLS settings', () => {
  /** Fails if `message` quotes any line of a PEM file's body. */
  const assertQuotesNoPem = (message: string, ...files: string[]) => {
    assert.doesNotMatch(message, /-----BEGIN/);
    for (const file of files) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.length >= 16 && !line.startsWith('-----')) assert.ok(!message.includes(line), `the message quotes ${file}`);
      }
    }
  };
  const configError = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, `a ConfigError, not ${(error as Error).name}`);
      return error.message;
    }
    return assert.fail(`no ConfigError for ${JSON.stringify(env)}`);
  };

  test('when the files are good, then the worker gets its certificate and key and the API its CA and requirement', () => {
    const config = loadConfig({ RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: trusted.serverKey, RELAY_TLS_CA_FILE: trusted.caCert, RELAY_TLS_REQUIRED: 'true', STREAM_ADVERTISE_URL: 'https://worker-1.internal:7000' });
    assert.equal(config.relay.serverTls?.cert, readFileSync(trusted.serverCert, 'utf8'));
    assert.equal(config.relay.serverTls?.key, readFileSync(trusted.serverKey, 'utf8'));
    assert.equal(config.relay.clientTls.ca, readFileSync(trusted.caCert, 'utf8'));
    assert.equal(config.relay.clientTls.required, true);
    const plain = loadConfig({});
    assert.equal(plain.relay.serverTls, undefined);
    assert.deepEqual(plain.relay.clientTls, { ca: undefined, required: false });
  });

  test('when a setting is missing, unreadable, invalid or contradicts another, then loading fails with a message that names the variable and quotes no file', () => {
    const junk = join(directory, 'junk.txt');
    writeFileSync(junk, 'this is not PEM at all\n');
    const cases: Array<[Record<string, string>, RegExp, string[]]> = [
      [{ RELAY_TLS_CERT_FILE: trusted.serverCert }, /RELAY_TLS_KEY_FILE: .*set both or neither/, []],
      [{ RELAY_TLS_KEY_FILE: trusted.serverKey }, /RELAY_TLS_CERT_FILE: .*set both or neither/, []],
      [{ RELAY_TLS_CERT_FILE: join(directory, 'missing.pem'), RELAY_TLS_KEY_FILE: trusted.serverKey }, /RELAY_TLS_CERT_FILE: cannot read .*missing\.pem \(ENOENT\)/, []],
      [{ RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: directory }, /RELAY_TLS_KEY_FILE: cannot read .* \(EISDIR\)/, []],
      [{ RELAY_TLS_CERT_FILE: trusted.serverKey, RELAY_TLS_KEY_FILE: trusted.serverKey }, /RELAY_TLS_CERT_FILE: .*server\.key is not a PEM certificate/, [trusted.serverKey]],
      [{ RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: trusted.serverCert }, /RELAY_TLS_KEY_FILE: .*server\.pem is not an unencrypted PEM private key/, [trusted.serverCert]],
      [{ RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: other.serverKey }, /RELAY_TLS_KEY_FILE: .* is not the key of the certificate in RELAY_TLS_CERT_FILE/, [trusted.serverCert, other.serverKey]],
      [{ RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: trusted.serverKey, STREAM_ADVERTISE_URL: 'http://worker-1.internal:7000' }, /STREAM_ADVERTISE_URL: .*advertise its https:\/\/ address/, [trusted.serverCert, trusted.serverKey]],
      [{ RELAY_TLS_CA_FILE: junk }, /RELAY_TLS_CA_FILE: .*junk\.txt is not a PEM file of CA certificates/, [junk]],
      [{ RELAY_TLS_CA_FILE: trusted.serverKey }, /RELAY_TLS_CA_FILE: .* holds a private key/, [trusted.serverKey]],
      [{ RELAY_TLS_CA_FILE: join(directory, 'missing-ca.pem') }, /RELAY_TLS_CA_FILE: cannot read .* \(ENOENT\)/, []],
      [{ RELAY_TLS_REQUIRED: 'yes' }, /RELAY_TLS_REQUIRED/, []],
    ];
    for (const [env, expected, files] of cases) {
      const message = configError(env);
      assert.match(message, expected);
      assertQuotesNoPem(message, ...files);
    }
  });

  test('when a relay server with TLS is given an http address to advertise, then it does not start', async () => {
    const tls = { cert: readFileSync(trusted.serverCert, 'utf8'), key: readFileSync(trusted.serverKey, 'utf8') };
    await assert.rejects(startRelayServer({ relay: new MemoryRelay(), secret, host: '127.0.0.1', port: 0, tls, advertiseUrl: 'http://127.0.0.1:7000' }), /must advertise an https:\/\/ address/);
  });

  test('when `npm run worker` has a certificate without its key, then it refuses to start and says which variable is missing', async () => {
    const worker = startChild('src/worker.ts', { TEMPORAL_ADDRESS: environment.address, RELAY_SECRET: secret, OPENAI_BASE_URL: model.baseURL, RELAY_TLS_CERT_FILE: trusted.serverCert, RELAY_TLS_KEY_FILE: '' });
    children.push(worker);
    assert.equal(await worker.exited, 1);
    assert.match(worker.output(), /RELAY_TLS_KEY_FILE: the relay serves TLS with RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE together/);
    assert.doesNotMatch(worker.output(), /worker polling/);
    assertQuotesNoPem(worker.output(), trusted.serverCert);
  });
});
