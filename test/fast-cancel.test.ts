import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { MemoryRelay } from '../src/relay/memory-relay';
import { RelayKeys, relayHeaders } from '../src/relay/relay-auth';
import { startRelayServer, type RelayServer } from '../src/relay/relay-server';
import { RemoteRelay } from '../src/relay/remote-relay';
import { assembleText, readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// A cancel reaches the steps of a run at once, not at their next heartbeat: the API that accepted
// it tells the relay (in process, or each worker's stream endpoint with a proof), the activity
// stops the model stream or the tool, and ends as cancelled once Temporal's cancellation follows
// (it heartbeats every 20 ms until then). Here activities heartbeat once a minute: a cancel that
// waited for the next heartbeat could not end these runs within the test.

const slow = { firstTokenDelayMs: 0, tokenDelayMs: 25 };
function reply(request: ChatRequest): Reply {
  const input = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  if (input === 'tool please' && !request.messages.some((message) => message.role === 'tool')) {
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'sleepy', arguments: '{}' }], { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
  }
  return { kind: 'stream', frames: textFrames(request.model, 'tick '.repeat(2000), slow) };
}

const toolAborted: string[] = [];
/** Runs until aborted (ten minutes otherwise), reporting progress. */
const sleepyTool = {
  name: 'sleepy',
  description: 'waits until aborted',
  parameters: z.object({}),
  idempotent: true,
  run(_args: unknown, context: { signal: AbortSignal; progress(update: { message: string }): void }) {
    context.progress({ message: 'sleeping' });
    return new Promise((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('never aborted')), 600_000);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        toolAborted.push('sleepy');
        reject(context.signal.reason);
      });
    });
  },
};

let temporal: TestTemporal;
let stack: TestStack;

before(async () => {
  temporal = await startTemporal();
  const config = loadConfig({});
  stack = await startTestStack(temporal, reply, { heartbeatIntervalMs: 60_000, tools: new ToolRegistry([...defaultTools(config.tools), sleepyTool]) });
});

after(async () => {
  await stack?.close();
  await temporal?.teardown();
});

async function cancelAfterTokens(input: string, until: (event: { event: string }) => boolean) {
  const started = await stack.post('/v1/runs', { input });
  assert.equal(started.status, 202);
  const { runId } = started.body;
  let cancel: Promise<{ status: number }> | undefined;
  const { events } = await readSse(`${stack.url}/v1/runs/${runId}/events`, {
    // Far less than the next heartbeat (a minute): only the direct path can end the run by then.
    signal: AbortSignal.timeout(20_000),
    until: (event) => {
      if (!cancel && until(event)) cancel = stack.post(`/v1/runs/${runId}/cancel`, {});
      return /^run\.(completed|failed|cancelled)$/.test(event.event);
    },
  });
  assert.equal((await cancel)?.status, 202);
  return { runId, events };
}

describe('a cancel reaches the running step at once', () => {
  test('a model step stops streaming and the run ends cancelled with the partial text, long before the next heartbeat', async () => {
    const { runId, events } = await cancelAfterTokens('stream please', (event) => event.event === 'text.delta');
    const terminal = events.at(-1)!;
    assert.equal(terminal.event, 'run.cancelled');
    const seen = [...assembleText(events).values()].join('');
    assert.ok(seen.length > 0 && terminal.data.partial.startsWith(seen), 'the partial transcript holds what the client saw');
    const request = stack.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === 'stream please'))!;
    assert.equal(request.aborted, true, 'the model stream was aborted');
    const state = await stack.get(`/v1/runs/${runId}`);
    assert.equal(state.body.status, 'cancelled');
    // Its end is in its memo (what readers take instead of a query that replays the run), and
    // says what the stream said.
    const { memo } = await temporal.client.workflow.getHandle(runId).describe();
    const ended = memo?.ended as { status: string; partial: string; tail: Array<{ step: number; partialText?: string }> };
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.partial, terminal.data.partial);
    assert.equal(ended.tail.at(-1)?.partialText, terminal.data.partial);
    assert.equal(state.body.steps.at(-1).partialText, terminal.data.partial);
    // The step was cancelled, not failed and retried.
    const history = await temporal.client.workflow.getHandle(runId).fetchHistory();
    assert.equal(history.events!.filter((event) => event.activityTaskFailedEventAttributes).length, 0);
    assert.equal(history.events!.filter((event) => event.activityTaskCanceledEventAttributes).length, 1);
  });

  test('a running tool is aborted through its signal and the run ends cancelled', async () => {
    const { events } = await cancelAfterTokens('tool please', (event) => event.event === 'tool.progress');
    assert.equal(events.at(-1)!.event, 'run.cancelled');
    assert.deepEqual(toolAborted, ['sleepy']);
  });
});

describe("a worker's stream endpoint takes an API's cancel", () => {
  let server: RelayServer;
  const relay = new MemoryRelay();
  const secret = randomBytes(32).toString('hex');

  before(async () => {
    server = await startRelayServer({ relay, secret, host: '127.0.0.1', port: 0 });
  });
  after(() => server.close());

  test('with a proof for that address and run, the run is cancelled there (an activity that starts just after hears it too); without one, nothing happens', async () => {
    const heard: string[] = [];
    const stop = relay.onCancel('run_a', () => heard.push('run_a'));
    relay.onCancel('run_b', () => heard.push('run_b'));
    const forged = await fetch(`${server.url}/runs/run_a/cancel`, { method: 'POST', headers: { [relayHeaders.nonce]: '0'.repeat(32), [relayHeaders.time]: String(Date.now()), [relayHeaders.proof]: '0'.repeat(64) } });
    assert.equal(forged.status, 401);
    const wrongSecret = new RelayKeys(randomBytes(32).toString('hex')).request(server.url, 'run_a');
    const refused = await fetch(`${server.url}/runs/run_a/cancel`, { method: 'POST', headers: { [relayHeaders.nonce]: wrongSecret.nonce, [relayHeaders.time]: wrongSecret.time, [relayHeaders.proof]: wrongSecret.proof } });
    assert.equal(refused.status, 401);
    assert.equal((await fetch(`${server.url}/runs/run_a/cancel`)).status, 404, 'a GET is not a cancel');
    assert.deepEqual(heard, []);

    // An API's relay: it tells every worker among the task queue's pollers (here: this endpoint).
    const api = new RemoteRelay({ client: temporal.client, namespace: 'default', taskQueue: 'no-pollers', secret, log: () => undefined });
    Object.assign(api, { workerUrls: async () => [server.url] });
    api.cancelRun('run_a');
    const deadline = Date.now() + 10_000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard, ['run_a'], 'only the cancelled run heard it');
    stop();
    const late: string[] = [];
    relay.onCancel('run_a', () => late.push('late'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(late, ['late']);
  });
});
