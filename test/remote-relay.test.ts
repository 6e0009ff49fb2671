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
import type { RemoteRelay } from '../src/relay/remote-relay';
import { startRelayServer, type RelayServer } from '../src/relay/relay-server';
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

before(async () => {
  environment = await startTemporal();
  stack = await startTestStack(environment, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 300, tokenDelayMs: 25 }) }));
  const secret = randomBytes(24).toString('hex');
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
