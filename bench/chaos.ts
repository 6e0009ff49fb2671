import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import { startModelServer } from '../src/demo-model/server';
import { RunReader, type RunView } from '../src/api/run-reader';
import { sseMessages } from './harness-client';
import { findTemporalCli } from '../src/temporal/cli';
import { startDevServer } from '../src/temporal/dev-server';
import { startChild, type Child } from '../test/helpers/processes';
import { freePort } from '../test/helpers/ports';

// The chaos run: Temporal, two workers and two API replicas as real processes; agent runs with
// tools while workers and APIs are killed (SIGKILL) and restarted; SSE clients that reconnect
// with Last-Event-ID to any live replica. It reports what the clients assembled against the
// final transcripts, and how often each tool side effect (an HTTP request the run's http_get
// makes to a server here) really happened.

export interface ChaosOptions {
  runs: number;
  /** Runs in flight at once. */
  concurrency: number;
  /** Kills (each followed by a restart). */
  kills: number;
  /** What may be killed. */
  targets: Array<'worker' | 'api'>;
  /** Milliseconds between kills (random in this range). */
  killEveryMs: [number, number];
  log?: (line: string) => void;
}

export interface ChaosReport {
  runs: number;
  completed: number;
  transcriptsEqual: number;
  charsLost: number;
  charsDuplicated: number;
  toolCalls: number;
  sideEffectsMoreThanOnce: number;
  sideEffectsNever: number;
  kills: { worker: number; api: number };
  reconnects: number;
  retriedSteps: number;
  durationMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)]!;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const secret = randomBytes(24).toString('hex');
  const cli = await findTemporalCli();
  const temporal = await startDevServer({ cli, dataDir: mkdtempSync(join(tmpdir(), 'chaos-')), port: await freePort(), uiPort: await freePort(), namespace: 'default', log: () => undefined });

  // Side effects: every GET of /effect/<key> is one execution of a tool call's effect.
  const effects = new Map<string, number>();
  const effectServer: Server = createHttpServer((request, response) => {
    const key = request.url ?? '';
    effects.set(key, (effects.get(key) ?? 0) + 1);
    response.end(`effect ${key}`);
  });
  await new Promise<void>((resolve) => effectServer.listen(0, '127.0.0.1', resolve));
  const effectBase = `http://127.0.0.1:${(effectServer.address() as AddressInfo).port}`;

  const answer = (key: string) => Array.from({ length: 60 }, (_, index) => `${key}-${index}`).join(' ');
  const model = await startModelServer((request) => {
    const key = (request.messages.find((message) => message.role === 'user')?.content ?? '').replace('chaos ', '');
    if (!request.messages.some((message) => message.role === 'tool')) {
      return {
        kind: 'stream',
        frames: toolCallFrames(
          request.model,
          [
            { id: 'call_calc', name: 'calculator', arguments: JSON.stringify({ expression: '6*7' }) },
            { id: 'call_effect', name: 'http_get', arguments: JSON.stringify({ url: `${effectBase}/effect/${key}` }) },
            { id: 'call_wait', name: 'wait', arguments: JSON.stringify({ seconds: 1 }) },
          ],
          { firstTokenDelayMs: 20, tokenDelayMs: 5 },
        ),
      };
    }
    return { kind: 'stream', frames: textFrames(request.model, answer(key), { firstTokenDelayMs: 20, tokenDelayMs: 30 }) };
  });

  const taskQueue = `chaos-${randomUUID()}`;
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    RELAY_SECRET: secret,
    OPENAI_BASE_URL: model.baseURL,
    TASK_QUEUE: taskQueue,
    HTTP_GET_ALLOWED_HOSTS: '127.0.0.1',
  };
  const workers: Array<Child | undefined> = [];
  const apis: Array<{ child: Child; url: string } | undefined> = [];
  const startWorker = async (slot: number) => {
    const child = startChild('src/worker.ts', env);
    await child.waitFor(/worker polling/, 120_000);
    workers[slot] = child;
  };
  const startApi = async (slot: number) => {
    const child = startChild('src/api/server.ts', { ...env, PORT: '0' });
    const url = (await child.waitFor(/API: (http:\/\/\S+)/, 120_000))[1]!;
    apis[slot] = { child, url };
  };
  await Promise.all([startWorker(0), startWorker(1), startApi(0), startApi(1)]);
  log('chaos: Temporal, 2 workers and 2 APIs are up');

  const liveApi = () => pick(apis.filter((api): api is { child: Child; url: string } => api !== undefined)).url;
  const kills = { worker: 0, api: 0 };
  let reconnects = 0;
  let done = false;

  const monkey = (async () => {
    for (let kill = 0; kill < options.kills && !done; kill++) {
      await sleep(options.killEveryMs[0] + Math.random() * (options.killEveryMs[1] - options.killEveryMs[0]));
      if (done) break;
      // Targets take turns, so a short run still kills each kind.
      const target = options.targets[kill % options.targets.length]!;
      const slot = Math.floor(Math.random() * 2);
      if (target === 'worker') {
        workers[slot]?.process.kill('SIGKILL');
        workers[slot] = undefined;
        kills.worker++;
        log(`chaos: killed worker ${slot + 1}`);
        await sleep(500);
        await startWorker(slot);
      } else {
        const api = apis[slot];
        apis[slot] = undefined;
        api?.child.process.kill('SIGKILL');
        kills.api++;
        log(`chaos: killed API ${slot + 1}`);
        await sleep(500);
        await startApi(slot);
      }
    }
  })();

  interface Outcome {
    key: string;
    runId: string;
    texts: Map<number, string>;
  }

  /** One client: starts a run, follows it to the end through any API, reconnecting as needed. */
  const client = async (key: string): Promise<Outcome> => {
    let runId = '';
    while (!runId) {
      try {
        const response = await fetch(`${liveApi()}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `chaos ${key}` }) });
        if (response.status === 202) runId = ((await response.json()) as { runId: string }).runId;
      } catch {
        await sleep(200);
      }
    }
    const texts = new Map<number, string>();
    let lastId = '';
    for (;;) {
      try {
        const response = await fetch(`${liveApi()}/v1/runs/${runId}/events`, { headers: lastId ? { 'Last-Event-ID': lastId } : {} });
        for await (const { id, event, data } of sseMessages(response.body! as AsyncIterable<Uint8Array>)) {
          const payload = JSON.parse(data) as { step: number; delta?: string };
          if (event === 'step.retrying') texts.set(payload.step, '');
          if (event === 'text.delta') texts.set(payload.step, (texts.get(payload.step) ?? '') + payload.delta);
          if (id) lastId = id;
          if (event.startsWith('run.') && event !== 'run.started') return { key, runId, texts };
        }
      } catch {
        // the API died under us
      }
      reconnects++;
      await sleep(100);
    }
  };

  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.runs) {
        const index = next++;
        outcomes.push(await client(`r${index}`));
      }
    }),
  );
  done = true;
  await monkey;

  // Compare with the transcripts Temporal kept.
  let completed = 0;
  let transcriptsEqual = 0;
  let charsLost = 0;
  let charsDuplicated = 0;
  let retriedSteps = 0;
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: temporal.address });
  const temporalClient = new Client({ connection });
  const reader = new RunReader(temporalClient);
  for (const outcome of outcomes) {
    let state: RunView;
    try {
      await temporalClient.workflow.getHandle(outcome.runId).result();
      // The steps are read from the run (its result is a summary); these runs fit one window.
      state = await reader.read(outcome.runId, { maxBytes: 64 * 1024 * 1024 });
    } catch {
      continue;
    }
    if (state.status === 'completed') completed++;
    let equal = true;
    for (const step of state.steps) {
      if (step.kind !== 'llm') continue;
      if ((step.attempt ?? 1) > 1) retriedSteps++;
      const expected = step.text ?? '';
      const seen = outcome.texts.get(step.step) ?? '';
      if (seen === expected) continue;
      equal = false;
      let prefix = 0;
      while (prefix < Math.min(seen.length, expected.length) && seen[prefix] === expected[prefix]) prefix++;
      charsLost += expected.length - prefix;
      charsDuplicated += seen.length - prefix;
    }
    if (equal) transcriptsEqual++;
  }
  await connection.close();

  const perEffect = outcomes.map((outcome) => effects.get(`/effect/${outcome.key}`) ?? 0);
  const report: ChaosReport = {
    runs: options.runs,
    completed,
    transcriptsEqual,
    charsLost,
    charsDuplicated,
    toolCalls: options.runs * 3,
    sideEffectsMoreThanOnce: perEffect.filter((count) => count > 1).length,
    sideEffectsNever: perEffect.filter((count) => count === 0).length,
    kills,
    reconnects,
    retriedSteps,
    durationMs: Date.now() - started,
  };

  await Promise.all([...workers, ...apis.map((api) => api?.child)].map((child) => child?.stop('SIGTERM')));
  await model.close();
  await new Promise<void>((resolve) => {
    effectServer.closeAllConnections();
    effectServer.close(() => resolve());
  });
  await temporal.stop();
  return report;
}
