import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { createSplitApi } from '../src/api/server';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import { RemoteRelay } from '../src/relay/remote-relay';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startRelayServer, type RelayServer } from '../src/relay/relay-server';
import { RelayKeys, hostAllowed } from '../src/relay/relay-auth';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { assembleText, assertIncreasingIds, readSse, type ReceivedEvent } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';

// A split API (RemoteRelay) reading an in-process worker's stream endpoint: many SSE clients of
// one run on one API share one stream from the worker.

const text = Array.from({ length: 60 }, (_, index) => `piece${index}`).join(' ');

let environment: TestTemporal;
let stack: TestStack;
let relayServer: RelayServer;
let api: { url: string; relay: RemoteRelay; server: Server };
let loadConfigSecret = '';

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 300, tokenDelayMs: 25 }) }));
  const secret = randomBytes(24).toString('hex');
  loadConfigSecret = secret;
  // The worker's activities advertise this endpoint in their heartbeats.
  relayServer = await startRelayServer({ relay: stack.relay, secret, host: '127.0.0.1', port: 0 });
  const config = loadConfig({ TEMPORAL_ADDRESS: environment.address, TASK_QUEUE: stack.taskQueue, RELAY_SECRET: secret });
  const split = createSplitApi({ config, client: environment.client, secret, tools: new ToolRegistry(defaultTools(config.tools)), log: () => undefined });
  const server = await new Promise<Server>((resolve) => {
    const listening = split.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  api = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, relay: split.relay, server };
});

after(async () => {
  api?.server.closeAllConnections();
  await new Promise((resolve) => api?.server.close(resolve) ?? resolve(undefined));
  await relayServer?.close();
  await stack?.close();
  await environment?.teardown();
});

/** Resolves once `condition` holds, checking every time the event loop turns; fails after `ms`. */
async function eventually(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const deltas = (events: ReceivedEvent[]) => events.filter((event) => event.event === 'text.delta').length;

describe('a split API with many subscribers', () => {
  test('when many clients watch one run on one API, then they share one stream from the worker and each gets the whole text', async () => {
    const started = await stack.post('/v1/runs', { input: 'shared stream', tools: [] });
    assert.equal(started.status, 202);
    const url = `${api.url}/v1/runs/${started.body.runId}/events`;
    const clients = Array.from({ length: 8 }, () => readSse(url));
    let fiveDeltasSeen!: () => void;
    const fiveDeltas = new Promise<void>((resolve) => (fiveDeltasSeen = resolve));
    const watcher = readSse(url, {
      until: (_event, all) => {
        if (deltas(all) === 5) fiveDeltasSeen();
        return false;
      },
    });
    await fiveDeltas;
    assert.equal(api.relay.subscribers(started.body.runId), 9, 'nine SSE clients on the split API');
    assert.equal(stack.relay.subscriptions(started.body.runId), 1, 'one stream from the worker for all of them');
    // A client that joins mid-text gets the text so far from the API's copy, then the rest.
    const late = readSse(url);
    const results = await Promise.all([...clients, watcher, late]);
    for (const [index, result] of results.entries()) {
      assertIncreasingIds(result.events);
      assert.equal([...assembleText(result.events).values()].join(''), text, `client ${index} got the whole text`);
      assert.equal(result.events.at(-1)?.event, 'run.completed');
    }
    assert.ok(deltas(results.at(-1)!.events) > 0, 'the late client got live deltas');
    // When the last client leaves, so does the API's stream from the worker.
    await eventually(() => api.relay.subscribers(started.body.runId) === 0, 'the API forgets the run');
    await eventually(() => stack.relay.subscriptions(started.body.runId) === 0, 'the worker stream is closed');
  });
});

describe('a relay that trusts no one', () => {
  test('when a poller on the task queue claims a stream address it does not own, then the API never sends it the secret and drops what it sends', async () => {
    const { createServer } = await import('node:http');
    const requests: Array<Record<string, unknown>> = [];
    const attacker = createServer((request, response) => {
      requests.push({ url: request.url, ...request.headers });
      const runId = decodeURIComponent(/\/runs\/([^/]+)\/events/.exec(request.url ?? '')?.[1] ?? '');
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      // Unsigned, then signed with a key that is not the relay secret's.
      response.write(`${JSON.stringify({ position: { kind: 'text', step: 1, attempt: 1, start: 0, end: 6 }, event: 'text.delta', data: { runId, step: 1, attempt: 1, delta: 'FORGED' } })}\n`);
      response.write(`{"sig":"${'0'.repeat(64)}","event":${JSON.stringify({ position: { kind: 'run-end' }, event: 'run.completed', data: { runId, step: 1, output: 'FORGED', usage: {} } })}}\n`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    try {
      // A worker with a forged identity polls the task queue for a moment (no run is in flight, so
      // it takes no task); Temporal then lists it among the pollers for minutes.
      const connection = await NativeConnection.connect({ address: environment.address });
      const forged = await Worker.create({ connection, taskQueue: stack.taskQueue, identity: `666@evil relay=${attackerUrl}`, activities: { unrelated: async () => undefined } });
      const polling = forged.run();
      await eventually(() => forged.getState() === 'RUNNING', 'the forged worker polls');
      await new Promise((resolve) => setTimeout(resolve, 500));
      forged.shutdown();
      await polling;
      await connection.close();
      assert.ok((await api.relay.workerUrlsFresh()).includes(attackerUrl), 'the forged address is among the pollers');

      const started = await stack.post('/v1/runs', { input: 'forged worker', tools: [] });
      const { events } = await readSse(`${api.url}/v1/runs/${started.body.runId}/events`);
      assert.equal(events.at(-1)?.event, 'run.completed');
      assert.equal(events.at(-1)?.data.output, text);
      assert.equal([...assembleText(events).values()].join(''), text, 'nothing forged reached the client');
      assert.ok(requests.length > 0, 'the API did contact the forged address (no allowlist here)');
      for (const request of requests) assert.ok(!JSON.stringify(request).includes(loadConfigSecret), 'the secret was never sent');
    } finally {
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  test('when RELAY_ALLOWED_HOSTS is set, then other stream addresses are never contacted', () => {
    assert.equal(hostAllowed('http://worker-1:7000', ['worker-1:7000', 'worker-2:7000']), true);
    assert.equal(hostAllowed('http://attacker:7000', ['worker-1:7000']), false);
    assert.equal(hostAllowed('http://worker-1:8000', ['worker-1:7000']), false);
    assert.equal(hostAllowed('http://w3.workers.internal:7000', ['*.workers.internal']), true);
    assert.equal(hostAllowed('http://workers.internal.evil:7000', ['*.workers.internal']), false);
    assert.equal(hostAllowed('not a url', ['worker-1']), false);
  });

  test('when a stream is asked with a proof for another address, a replayed proof or none, then the worker refuses', async () => {
    const keys = new RelayKeys(loadConfigSecret);
    const runId = 'run_any';
    const get = (headers: Record<string, string>) => fetch(`${relayServer.url}/runs/${runId}/events`, { headers }).then(async (response) => {
      const status = response.status;
      await response.body?.cancel();
      return status;
    });
    const toHeaders = (auth: { nonce: string; time: string; proof: string }) => ({ 'x-relay-nonce': auth.nonce, 'x-relay-time': auth.time, 'x-relay-proof': auth.proof });
    assert.equal(await get({}), 401);
    assert.equal(await get({ authorization: `Bearer ${loadConfigSecret}` }), 401, 'the secret itself is not how to ask');
    assert.equal(await get(toHeaders(keys.request('http://attacker:1', runId))), 401, 'a proof made for another address');
    assert.equal(await get(toHeaders(keys.request(relayServer.url, runId, Date.now() - 5 * 60_000))), 401, 'an old proof');
    assert.equal(await get(toHeaders(new RelayKeys('another secret of at least 32 bytes!!').request(relayServer.url, runId))), 401);
    const good = toHeaders(keys.request(relayServer.url, runId));
    assert.equal(await get(good), 200);
    assert.equal(await get(good), 401, 'a proof is good once');
  });

  test('a worker proves itself once per stream (plain lines), and signs every line for APIs that do not ask for that', async () => {
    const keys = new RelayKeys(loadConfigSecret);
    const runId = `run_proof_${Date.now()}`;
    const publisher = stack.relay.openStream(runId, 'llm:1');
    const event = { position: { kind: 'step-start' as const, step: 1 }, event: 'step.started' as const, data: { runId, step: 1, kind: 'llm' as const } };
    publisher.publish(event);
    /** The answer's proof header and its first line, for a request with `extra` headers. */
    const firstLine = async (extra: Record<string, string>) => {
      const auth = keys.request(relayServer.url, runId);
      const response = await fetch(`${relayServer.url}/runs/${runId}/events`, { headers: { 'x-relay-nonce': auth.nonce, 'x-relay-time': auth.time, 'x-relay-proof': auth.proof, ...extra } });
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      return { nonce: auth.nonce, proof: response.headers.get('x-relay-stream-proof'), line: text.slice(0, text.indexOf('\n')) };
    };
    const plain = await firstLine({ 'x-relay-lines': 'plain' });
    assert.ok(plain.proof && keys.verifyStreamProof(runId, plain.nonce, plain.proof), 'the worker proves it knows the secret, for this run and request');
    assert.equal(keys.verifyStreamProof('run_other', plain.nonce, plain.proof!), false, 'for this run only');
    assert.equal(new RelayKeys('another secret of at least 32 bytes!!').verifyStreamProof(runId, plain.nonce, plain.proof!), false);
    assert.deepEqual(keys.plainLine(runId, plain.line), event);
    assert.equal(keys.plainLine('run_other', plain.line), undefined, "another run's line is refused");
    const signed = await firstLine({});
    assert.equal(signed.proof, null, 'an API that does not ask gets signed lines');
    assert.deepEqual(keys.verifyLine(runId, signed.nonce, signed.line), event);
    publisher.close();
  });

  test('when a stream answers with a proof that is not the secret\'s, then the API reads none of it', async () => {
    const { createServer } = await import('node:http');
    const attacker = createServer((request, response) => {
      const runId = decodeURIComponent(/\/runs\/([^/]+)\/events/.exec(request.url ?? '')?.[1] ?? '');
      response.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-relay-stream-proof': '0'.repeat(64) });
      response.write(`${JSON.stringify({ position: { kind: 'text', step: 1, attempt: 1, start: 0, end: 6 }, event: 'text.delta', data: { runId, step: 1, attempt: 1, delta: 'FORGED' } })}\n`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const reader = new RemoteRelay({ client: environment.client, namespace: 'default', taskQueue: 'no-pollers', secret: loadConfigSecret, log: () => undefined, discoveryMs: 50 });
    Object.assign(reader, { workerUrls: async () => [attackerUrl], inFlight: async () => [] });
    const subscription = reader.subscribe('run_forged_proof');
    try {
      await eventually(() => reader.isUnreachable(attackerUrl), 'the forged stream is dropped');
      assert.deepEqual(subscription.drain(), [], 'nothing it sent was delivered');
    } finally {
      subscription.close();
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
  });
});
