import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import { startModelServer } from '../src/demo-model/server';
import { RunReader, type RunView } from '../src/api/run-reader';
import { sseMessages } from './harness-client';
import { startClusterChaosStack, startDevChaosStack, type ChaosStack, type ChaosTarget } from './chaos-stacks';
import { isRunEnd } from '../src/shared/events';

// The chaos run: Temporal, two workers and two API replicas as real processes (the dev stack), or
// the production topology of `npm run cluster` (two Temporal nodes on PostgreSQL, HAProxy: the
// cluster stack); agent runs with tools while workers, APIs (and Temporal nodes, on the cluster)
// are killed (SIGKILL) and restarted; SSE clients that reconnect with Last-Event-ID, to any live
// replica or through the load balancer. It reports what the clients assembled against the final
// transcripts, and how often each tool side effect (an HTTP request the run's http_get makes to a
// server here) really happened, against the attempts Temporal recorded for that call.

export interface ChaosOptions {
  runs: number;
  /** Runs in flight at once. */
  concurrency: number;
  /** Kills (each followed by a restart). */
  kills: number;
  /** What may be killed, in turn (temporal: the cluster stack only). */
  targets: ChaosTarget[];
  /** The dev server and processes (default), or `npm run cluster`'s topology. */
  stack?: 'dev' | 'cluster';
  /** Keep starting runs (past `runs`) until every kill has happened. */
  untilKilled?: boolean;
  /** Milliseconds between kills (random in this range). */
  killEveryMs: [number, number];
  log?: (line: string) => void;
}

export interface ChaosReport {
  runs: number;
  completed: number;
  transcriptsEqual: number;
  /** The first few steps whose assembled text differed from the transcript, with what their client saw. */
  mismatches: Array<{ runId: string; step: number; attempt: number; expectedChars: number; seenChars: number; commonPrefix: number; trace: string[] }>;
  charsLost: number;
  charsDuplicated: number;
  toolCalls: number;
  sideEffectsMoreThanOnce: number;
  /** Side effects executed more often than Temporal started their tool call: a completed call run again. */
  sideEffectsBeyondAttempts: number;
  sideEffectsNever: number;
  kills: Record<ChaosTarget, number>;
  reconnects: number;
  retriedSteps: number;
  durationMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a client follows one run before giving up on it (a run here takes a few seconds). */
const runDeadlineMs = 180_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();

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

  const appEnv = { OPENAI_BASE_URL: model.baseURL, HTTP_GET_ALLOWED_HOSTS: '127.0.0.1' };
  const stack: ChaosStack = options.stack === 'cluster' ? await startClusterChaosStack(appEnv, log) : await startDevChaosStack(appEnv);
  log(`chaos: ${stack.kind === 'cluster' ? 'the cluster (2 Temporal nodes on PostgreSQL, 2 workers, 2 APIs, a load balancer)' : 'Temporal, 2 workers and 2 APIs'} are up`);

  const kills: Record<ChaosTarget, number> = { worker: 0, api: 0, temporal: 0 };
  let reconnects = 0;
  let done = false;
  let killing = options.kills > 0;

  const monkey = (async () => {
    try {
      for (let kill = 0; kill < options.kills && !done; kill++) {
        await sleep(options.killEveryMs[0] + Math.random() * (options.killEveryMs[1] - options.killEveryMs[0]));
        if (done) break;
        // Targets take turns, so a short run still kills each kind.
        const target = options.targets[kill % options.targets.length]!;
        const slot = Math.floor(Math.random() * 2);
        log(`chaos: killing ${target} ${slot + 1}`);
        const killed = Date.now();
        // A Temporal node stays down long enough for the other to notice and take over its shards.
        await stack.killAndRestart(target, slot, target === 'temporal' ? 8000 : 500);
        kills[target]++;
        log(`chaos: ${target} ${slot + 1} killed and back in ${Date.now() - killed} ms`);
      }
    } finally {
      // Also when a part does not come back: the clients stop starting runs, and the run reports it.
      killing = false;
    }
  })();
  const monkeyFailure = monkey.then(
    () => undefined,
    (error: Error) => error,
  );

  interface Outcome {
    key: string;
    runId: string;
    /** What the client saw: each event (type, id, delta length) and each reconnect, for a report on a mismatch. */
    trace: string[];
    texts: Map<number, string>;
  }

  /**
   * One client: starts a run, follows it to the end through any API, reconnecting as needed.
   * A POST whose answer is lost (its API died) is sent again with a new key: the first may have
   * started a run all the same, whose side effect then counts under its own key, not this one's.
   */
  const client = async (name: string): Promise<Outcome> => {
    let runId = '';
    let key = '';
    for (let attempt = 1; !runId; attempt++) {
      key = `${name}.${attempt}`;
      try {
        const response = await fetch(`${stack.apiUrl()}/v1/runs`, { method: 'POST', headers: { ...stack.headers, 'content-type': 'application/json' }, body: JSON.stringify({ input: `chaos ${key}` }) });
        if (response.status === 202) runId = ((await response.json()) as { runId: string }).runId;
        else await sleep(200);
      } catch {
        await sleep(200);
      }
    }
    const texts = new Map<number, string>();
    const trace: string[] = [];
    let lastId = '';
    // A run that cannot be followed to its end (it never ends, or no API serves it) is given up
    // after this long: the report shows it as not completed, instead of the chaos run hanging.
    const deadline = Date.now() + runDeadlineMs;
    for (;;) {
      if (Date.now() > deadline) {
        trace.push(`(gave up after ${runDeadlineMs} ms)`);
        return { key, runId, texts, trace };
      }
      try {
        const response = await fetch(`${stack.apiUrl()}/v1/runs/${runId}/events`, { headers: { ...stack.headers, ...(lastId ? { 'Last-Event-ID': lastId } : {}) } });
        for await (const { id, event, data } of sseMessages(response.body! as AsyncIterable<Uint8Array>)) {
          const payload = JSON.parse(data) as { step: number; delta?: string };
          if (event === 'step.retrying') texts.set(payload.step, '');
          if (event === 'text.delta') texts.set(payload.step, (texts.get(payload.step) ?? '') + payload.delta);
          trace.push(`${event}${id ? ` #${id}` : ''}${payload.delta !== undefined ? ` +${payload.delta.length}` : ''}`);
          if (id) lastId = id;
          if (isRunEnd(event)) return { key, runId, texts, trace };
        }
      } catch {
        // the API died under us
      }
      reconnects++;
      trace.push(`(reconnect with Last-Event-ID ${lastId || 'none'})`);
      await sleep(100);
    }
  };

  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.runs || (options.untilKilled && killing)) {
        const index = next++;
        outcomes.push(await client(`r${index}`));
      }
    }),
  );
  done = true;
  const failure = await monkeyFailure;
  if (failure) {
    await stack.stop();
    await model.close();
    throw new Error(`chaos: a killed part did not come back: ${failure.message}`);
  }

  // Compare with the transcripts Temporal kept.
  let completed = 0;
  let transcriptsEqual = 0;
  let charsLost = 0;
  let charsDuplicated = 0;
  let retriedSteps = 0;
  const mismatches: ChaosReport['mismatches'] = [];
  const { client: temporalClient, close } = await stack.temporalClient();
  const reader = new RunReader(temporalClient);
  /** How many times Temporal started each run's http_get call (its last attempt's number). */
  const httpGetAttempts = new Map<string, number>();
  for (const outcome of outcomes) {
    let state: RunView;
    try {
      const handle = temporalClient.workflow.getHandle(outcome.runId);
      await handle.result();
      const history = await handle.fetchHistory();
      const scheduled = new Set(history.events!.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'tool:http_get').map((event) => String(event.eventId)));
      const attempts = history.events!.filter((event) => scheduled.has(String(event.activityTaskStartedEventAttributes?.scheduledEventId ?? ''))).map((event) => event.activityTaskStartedEventAttributes!.attempt ?? 1);
      httpGetAttempts.set(outcome.key, attempts.reduce((sum, attempt) => sum + attempt, 0));
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
      if (mismatches.length < 5) mismatches.push({ runId: outcome.runId, step: step.step, attempt: step.attempt ?? 1, expectedChars: expected.length, seenChars: seen.length, commonPrefix: prefix, trace: outcome.trace.slice(-60) });
    }
    if (equal) transcriptsEqual++;
  }
  await close();

  const perEffect = outcomes.map((outcome) => effects.get(`/effect/${outcome.key}`) ?? 0);
  const report: ChaosReport = {
    runs: outcomes.length,
    completed,
    transcriptsEqual,
    mismatches,
    charsLost,
    charsDuplicated,
    toolCalls: outcomes.length * 3,
    sideEffectsMoreThanOnce: perEffect.filter((count) => count > 1).length,
    sideEffectsBeyondAttempts: outcomes.filter((outcome) => (effects.get(`/effect/${outcome.key}`) ?? 0) > (httpGetAttempts.get(outcome.key) ?? 0)).length,
    sideEffectsNever: perEffect.filter((count) => count === 0).length,
    kills,
    reconnects,
    retriedSteps,
    durationMs: Date.now() - started,
  };

  await stack.stop();
  await model.close();
  await new Promise<void>((resolve) => {
    effectServer.closeAllConnections();
    effectServer.close(() => resolve());
  });
  return report;
}
