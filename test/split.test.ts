import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { parseExposition, total } from './helpers/metrics';
import { startChild, workerRunningActivity, type Child } from './helpers/processes';
import { assembleText, assembleToolOutput, readSse } from './helpers/sse';
import { startTemporal } from './helpers/temporal';

// npm run worker and npm run api as separate processes, two of each, one Temporal, no broker.

const secret = randomBytes(24).toString('hex');
const longText = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
const crashText = Array.from({ length: 120 }, (_, index) => `c${index}`).join(' ');
let environment: TestWorkflowEnvironment;
let model: ModelServer;
const children: Child[] = [];
let apis: string[] = [];
let workerStreams: string[] = [];
let workers: Child[] = [];
let apiProcesses: Child[] = [];
let fallbackApi: Child;
let fallbackApiUrl: string;

before(async () => {
  environment = await startTemporal();
  model = await startModelServer((request) => {
    const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
    if (first.startsWith('long')) return { kind: 'stream', frames: textFrames(request.model, longText, { firstTokenDelayMs: 50, tokenDelayMs: 20 }) };
    if (first.startsWith('crash')) {
      // A tool call first, then a long answer that a worker crash interrupts.
      if (!request.messages.some((message) => message.role === 'tool')) {
        return toolScript({ ...request, messages: [{ role: 'user', content: toolCallScriptInput(['calculator', { expression: '6*7' }]) }] });
      }
      return { kind: 'stream', frames: textFrames(request.model, crashText, { firstTokenDelayMs: 20, tokenDelayMs: 40 }) };
    }
    return toolScript(request);
  });
  // A workspace whose files search_files streams matches from.
  const workspace = mkdtempSync(join(tmpdir(), 'split-workspace-'));
  for (let index = 0; index < 60; index++) writeFileSync(join(workspace, `file-${index}.txt`), `nothing\nneedle number ${index}\nmore\n`);
  const common = { TEMPORAL_ADDRESS: environment.address, RELAY_SECRET: secret, OPENAI_BASE_URL: model.baseURL, HTTP_GET_ALLOW_PRIVATE: 'false', WORKSPACE_DIR: workspace };
  const taskQueue = `split-${randomUUID()}`;
  workers = [0, 1].map(() => startChild('src/worker.ts', { ...common, TASK_QUEUE: taskQueue, STREAM_PORT: '0' }));
  apiProcesses = [0, 1].map(() => startChild('src/api/server.ts', { ...common, TASK_QUEUE: taskQueue, PORT: '0' }));
  // A worker whose advertised stream address cannot be reached, with its own API.
  const lonelyQueue = `split-unreachable-${randomUUID()}`;
  const lonelyWorker = startChild('src/worker.ts', { ...common, TASK_QUEUE: lonelyQueue, STREAM_ADVERTISE_URL: 'http://127.0.0.1:9' });
  fallbackApi = startChild('src/api/server.ts', { ...common, TASK_QUEUE: lonelyQueue, PORT: '0' });
  children.push(...workers, ...apiProcesses, lonelyWorker, fallbackApi);
  workerStreams = await Promise.all(workers.map(async (worker) => (await worker.waitFor(/live streams at (http:\/\/\S+)/))[1]!));
  apis = await Promise.all(apiProcesses.map(async (api) => (await api.waitFor(/API: (http:\/\/\S+)/))[1]!));
  await lonelyWorker.waitFor(/worker polling/);
  fallbackApiUrl = (await fallbackApi.waitFor(/API: (http:\/\/\S+)/))[1]!;
});

after(async () => {
  await Promise.all(children.map((child) => child.stop()));
  await model?.close();
  await environment?.teardown();
});

async function startRun(api: string, input: string): Promise<string> {
  const response = await fetch(`${api}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
  return ((await response.json()) as { runId: string }).runId;
}

describe('split deployment', () => {
  test('when a run starts on one API replica and is watched on another, then tokens arrive live from whichever worker runs the step', async () => {
    for (let i = 0; i < 2; i++) {
      const runId = await startRun(apis[i]!, 'long answer');
      const { events } = await readSse(`${apis[1 - i]!}/v1/runs/${runId}/events`);
      const deltas = events.filter((event) => event.event === 'text.delta');
      assert.ok(deltas.length > 10, `tokens streamed one by one, not rebuilt at the end (${deltas.length} deltas)`);
      const request = model.requests.findLast((candidate) => candidate.body.messages.some((message) => message.content === 'long answer'))!;
      assert.ok(deltas[0]!.at < request.completedAt!, 'the first token arrived while the model was still streaming');
      assert.equal([...assembleText(events).values()].join(''), longText);
      assert.equal(events.at(-1)!.data.output, longText);
    }
  });

  test('when parallel tools run in worker processes, then their progress reaches a client of another API', async () => {
    const runId = await startRun(apis[0]!, toolCallScriptInput(['wait', { seconds: 2.5 }], ['wait', { seconds: 2.5 }]));
    const { events } = await readSse(`${apis[1]!}/v1/runs/${runId}/events`);
    assert.ok(events.filter((event) => event.event === 'tool.progress').length >= 4);
    assert.equal(events.at(-1)!.data.output, 'results: waited 2.5 s | waited 2.5 s');
  });

  test('when a tool streams its output in a worker process, then a client of another API reads it live, and a late one the same', async () => {
    const runId = await startRun(apis[0]!, toolCallScriptInput(['search_files', { pattern: 'needle' }]));
    const { events } = await readSse(`${apis[1]!}/v1/runs/${runId}/events`);
    assert.equal(events.at(-1)?.event, 'run.completed');
    const live = events.filter((event) => event.event === 'tool.output.delta');
    assert.ok(live.length > 1, `one delta per match, through the worker's stream (${live.length})`);
    const output = assembleToolOutput(events).get(live[0]!.data.callId)!;
    assert.equal(output.split('\n').filter(Boolean).length, 60);
    const run = (await (await fetch(`${apis[0]!}/v1/runs/${runId}`)).json()) as { steps: Array<{ kind: string; calls?: Array<{ output?: string }> }> };
    assert.equal(run.steps.find((step) => step.kind === 'tools')!.calls![0]!.output, output);
    const late = await readSse(`${apis[0]!}/v1/runs/${runId}/events`);
    assert.equal(assembleToolOutput(late.events).get(live[0]!.data.callId), output);
  });

  test('when two worker processes run a deployment’s tool calls, then both feed one set of tool stats that every API reads', async () => {
    const stats = async (api: string) => {
      const body = (await (await fetch(`${api}/v1/tools`)).json()) as { tools: Array<{ name: string; stats?: { calls: number } }> };
      return body.tools.find((tool) => tool.name === 'calculator')?.stats?.calls ?? 0;
    };
    const before = await stats(apis[1]!);
    const runIds: string[] = [];
    for (let index = 0; index < 6; index++) {
      const runId = await startRun(apis[index % 2]!, toolCallScriptInput(['calculator', { expression: `${index}+1` }], ['calculator', { expression: `${index}*2` }], ['calculator', { expression: `${index}-3` }]));
      const { events } = await readSse(`${apis[index % 2]!}/v1/runs/${runId}/events`);
      assert.equal(events.at(-1)?.event, 'run.completed');
      runIds.push(runId);
    }
    // Which worker process ran each call: the identity on its history's ActivityTaskStarted.
    const identities = new Set<string>();
    let calls = 0;
    for (const runId of runIds) {
      const history = await environment.client.workflow.getHandle(runId).fetchHistory();
      const scheduled = new Map<string, string>();
      for (const event of history.events ?? []) {
        const attributes = event.activityTaskScheduledEventAttributes;
        if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '');
        const started = event.activityTaskStartedEventAttributes;
        if (started && scheduled.get(String(started.scheduledEventId)) === 'tool:calculator') {
          calls++;
          identities.add(started.identity ?? '');
        }
      }
    }
    assert.equal(calls, 18);
    assert.equal(identities.size, 2, 'both worker processes ran calls');
    let after = before;
    for (const deadline = Date.now() + 30_000; after < before + calls && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) after = await stats(apis[1]!);
    assert.equal(after - before, calls, 'every call of both workers, in one set of stats');
    assert.equal(await stats(apis[0]!), after, 'the same on the other API');
  });

  test('when a worker stream is asked without the relay secret, then it refuses', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong' }];
    for (const headers of attempts) {
      const response = await fetch(`${workerStreams[0]!}/runs/run_x/events`, { headers });
      assert.equal(response.status, 401);
    }
  });

  test('when the worker running a tool cannot be reached, then its progress still arrives from heartbeat details and the API says so', async () => {
    const runId = await startRun(fallbackApiUrl, toolCallScriptInput(['wait', { seconds: 4 }]));
    const { events } = await readSse(`${fallbackApiUrl}/v1/runs/${runId}/events`);
    const progress = events.filter((event) => event.event === 'tool.progress');
    assert.ok(progress.length >= 1, 'progress from heartbeat details');
    assert.match(progress[0]!.data.progress.message, /waited \d of 4 s/);
    assert.equal(events.at(-1)!.data.output, 'results: waited 4 s');
    assert.match(fallbackApi.output(), /worker stream http:\/\/127\.0\.0\.1:9 unreachable .*reading progress from heartbeat details/);
    assert.ok(!fallbackApi.output().includes(secret), 'the secret is not logged');
    // And its metrics say so: the failed stream, and the events read from heartbeat details instead.
    const samples = parseExposition(await (await fetch(`${fallbackApiUrl}/metrics`)).text());
    assert.ok(total(samples, 'durable_agents_relay_failures_total') >= 1);
    assert.ok(total(samples, 'durable_agents_relay_heartbeat_fallback_events_total') >= progress.length);
    assert.equal(total(samples, 'durable_agents_relay_connects_total'), 0);
  });
});

describe('when processes die', () => {
  test('when the API serving a client dies, then the client resumes on another replica with Last-Event-ID and loses or repeats nothing', async () => {
    const runId = await startRun(apis[1]!, 'long and the api dies');
    let killed = false;
    const first = await readSse(`${apis[0]!}/v1/runs/${runId}/events`, {
      until: (_event, all) => {
        if (!killed && all.filter((event) => event.event === 'text.delta').length === 5) {
          killed = true;
          apiProcesses[0]!.process.kill('SIGKILL');
        }
        return false;
      },
    });
    assert.ok(first.broken, 'the connection broke with the API');
    const lastId = first.events.at(-1)!.id;
    const rest = await readSse(`${apis[1]!}/v1/runs/${runId}/events`, { headers: { 'Last-Event-ID': lastId } });
    const all = [...first.events, ...rest.events];
    // usage.updated carries the id of the text it counted: the places are the other events.
    const placed = all.filter((event) => event.event !== 'usage.updated');
    assert.equal(new Set(placed.map((event) => event.id)).size, placed.length, 'no event twice');
    assert.equal([...assembleText(all).values()].join(''), longText);
    assert.equal(rest.events.at(-1)!.event, 'run.completed');
  });

  test('when the worker streaming a model step is killed (kill -9), then the step is retried on the other worker and the transcript is whole', async () => {
    const runId = await startRun(apis[1]!, 'crash the worker');
    let victim: Child | undefined;
    const { events } = await readSse(`${apis[1]!}/v1/runs/${runId}/events`, {
      until: (event, all) => {
        if (!victim && event.event === 'text.delta' && all.filter((e) => e.event === 'text.delta').length === 10) {
          void (async () => {
            victim = await workerRunningActivity(environment.client, runId, workers, workerStreams);
            victim.process.kill('SIGKILL');
          })();
        }
        return false;
      },
    });
    assert.ok(victim, 'a worker was killed');
    const retrying = events.find((event) => event.event === 'step.retrying');
    assert.ok(retrying, 'the client was told to discard the partial text');
    assert.equal(retrying.data.attempt, 2);
    assert.equal([...assembleText(events).values()].join(''), crashText);
    assert.equal(events.at(-1)!.event, 'run.completed');
    assert.equal(events.at(-1)!.data.output, crashText);
    const history = await environment.client.workflow.getHandle(runId).fetchHistory();
    const toolRuns = history.events!.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'tool:calculator');
    assert.equal(toolRuns.length, 1, 'the completed tool call was not run again');
    assert.equal(events.filter((event) => event.event === 'tool.completed').length, 1);
  });
});
