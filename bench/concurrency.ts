import { textFrames } from '../src/demo-model/chunks';
import { preciseNow, type Responder } from '../src/demo-model/server';
import { startSubscribers, tokenEnds } from './fanout';
import { inEachLayout, temporalServerMeter, type BenchTemporal, type Layout, type LayoutTarget } from './harness';
import { ms, summarize, type Summary } from './stats';

// Concurrency: 10, 50 and 100 runs at once, each watched by one SSE subscriber (in a separate
// process): how many complete with the whole text, their TTFT and token latency, and the CPU and
// peak memory of the stack's processes. Two layouts: npm start (worker and API in one process)
// and the split deployment (npm run worker + npm run api, live streams read over HTTP), where
// the worker's and the API's CPU and memory are told apart.

export interface ConcurrencyRow {
  layout: Layout;
  runs: number;
  /** WORKER_MAX_ACTIVITIES when set (else the default, 100): steps past it wait in the task queue. */
  maxActivities?: number;
  /** WORKER_MAX_WORKFLOW_TASKS when not the default (8): 40 is the SDK's own default. */
  maxWorkflowTasks?: number;
  complete: number;
  ttft: Summary;
  tokenLatency: Summary;
  /** Per process: "worker + API" in one process, or "worker" and "API"; and "Temporal". */
  processes: Array<{ name: string; cpuMs: number; peakRssMiB: number }>;
}

/** Runs before the measured levels, so that the first level does not pay for JIT compilation. */
const warmupRuns = 10;

async function runLevel(target: LayoutTarget, layout: Layout, level: number, text: string, ends: number[], label = 'measured'): Promise<ConcurrencyRow> {
  const peaks = target.meters.map(({ meter }) => meter.rssBytes());
  const sampler = setInterval(() => target.meters.forEach(({ meter }, index) => (peaks[index] = Math.max(peaks[index]!, meter.rssBytes()))), 100);
  const client = await startSubscribers(1, ends);
  const cpuBefore = target.meters.map(({ meter }) => meter.cpuMs());
  const posts = await Promise.all(
    Array.from({ length: level }, async (_, index) => {
      const input = `concurrency ${layout} ${label} ${level} ${index}`;
      const started = preciseNow();
      const response = await fetch(`${target.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
      const runId = ((await response.json()) as { runId: string }).runId;
      return { input, started, runId };
    }),
  );
  // Subscribers in the order of the posts (each connects as soon as its line arrives).
  for (const post of posts) client.add(`${target.url}/v1/runs/${post.runId}/events`);
  const result = await client.finish();
  const cpu = target.meters.map(({ meter }, index) => meter.cpuMs() - cpuBefore[index]!);
  clearInterval(sampler);
  const ttfts: number[] = [];
  const latencies: number[] = [];
  posts.forEach((post, index) => {
    const arrivals = result.arrivals[index]!;
    const request = target.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === post.input));
    if (!request || arrivals.length === 0) return;
    ttfts.push(arrivals[0]! - post.started);
    arrivals.forEach((arrival, token) => latencies.push(arrival - request.chunkTimes[token + 1]!));
  });
  const row: ConcurrencyRow = {
    layout,
    runs: level,
    complete: result.texts.filter((received) => received === text).length,
    ttft: summarize(ttfts),
    tokenLatency: summarize(latencies),
    processes: target.meters.map(({ name }, index) => ({ name, cpuMs: cpu[index]!, peakRssMiB: peaks[index]! / 2 ** 20 })),
  };
  const usage = row.processes.map((entry) => `${entry.name} CPU ${entry.cpuMs.toFixed(0)} ms, RSS ${entry.peakRssMiB.toFixed(0)} MiB`).join('; ');
  console.log(`concurrency ${layout} ${label} ${level}: ${row.complete} complete, TTFT p50 ${row.ttft.p50.toFixed(0)} ms, token latency p50 ${row.tokenLatency.p50.toFixed(2)} ms p99 ${row.tokenLatency.p99.toFixed(2)} ms; ${usage}`);
  return row;
}

export async function concurrencyScenario(temporal: BenchTemporal, levels = [10, 50, 100], tokens = 100): Promise<ConcurrencyRow[]> {
  const text = Array.from({ length: tokens }, (_, index) => `c${index}`).join(' ');
  const ends = tokenEnds(text);
  const responder: Responder = (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 200, tokenDelayMs: 20 }) });
  const rows: ConcurrencyRow[] = [];
  const temporalMeter = temporalServerMeter();
  /** Each level in both layouts, after a warm-up, on workers with `pass`'s settings (the defaults when empty). */
  const measureLevels = (taskQueue: string, measured: number[], pass: Pick<ConcurrencyRow, 'maxActivities' | 'maxWorkflowTasks'> = {}) => {
    const label = [pass.maxActivities && `capped at ${pass.maxActivities}`, pass.maxWorkflowTasks && `${pass.maxWorkflowTasks} workflow task slots`].filter(Boolean).join(', ') || 'measured';
    return inEachLayout(
      temporal,
      responder,
      taskQueue,
      async (target, layout) => {
        await runLevel(target, layout, warmupRuns, text, ends, 'warm-up');
        for (const level of measured) rows.push({ ...(await runLevel(target, layout, level, text, ends, label)), ...pass });
      },
      temporalMeter ? [{ name: 'Temporal', meter: temporalMeter }] : [],
      {
        overrides: { ...(pass.maxActivities ? { maxConcurrentActivities: pass.maxActivities } : {}), ...(pass.maxWorkflowTasks ? { maxWorkflowTasks: pass.maxWorkflowTasks } : {}) },
        env: { ...(pass.maxActivities ? { WORKER_MAX_ACTIVITIES: String(pass.maxActivities) } : {}), ...(pass.maxWorkflowTasks ? { WORKER_MAX_WORKFLOW_TASKS: String(pass.maxWorkflowTasks) } : {}) },
      },
    );
  };
  await measureLevels('bench-concurrency', levels);
  const top = Math.max(...levels);
  // The largest burst on workers with the SDK's own workflow task slots (40, taken by up to 10
  // pollers): the baseline of the paced slots (src/temporal/workflow-task-slots.ts).
  await measureLevels('bench-concurrency-sdk-slots', [top], { maxWorkflowTasks: sdkWorkflowTaskSlots });
  // The largest burst again on workers that run at most `cappedActivities` steps at once: the
  // rest wait in Temporal's task queue (queued) instead of slowing the streams already running.
  if (top > cappedActivities) await measureLevels('bench-concurrency-capped', [top], { maxActivities: cappedActivities });
  return rows;
}

/** WORKER_MAX_ACTIVITIES of the capped pass: about what this 2-core machine streams without delay (docs/architecture.md). */
const cappedActivities = 32;
/** The SDK's default maxConcurrentWorkflowTaskExecutions. */
const sdkWorkflowTaskSlots = 40;

export function concurrencySection(rows: ConcurrencyRow[]): string {
  const table = rows
    .map((row) => {
      const usage = row.processes.map((entry) => `${entry.name}: ${entry.cpuMs.toFixed(0)} ms, ${entry.peakRssMiB.toFixed(0)} MiB`).join('<br>');
      const settings = [row.maxActivities && `\`WORKER_MAX_ACTIVITIES=${row.maxActivities}\``, row.maxWorkflowTasks && `\`WORKER_MAX_WORKFLOW_TASKS=${row.maxWorkflowTasks}\` (the SDK's default)`].filter(Boolean);
      return `| ${[row.layout, ...settings].join(', ')} | ${row.runs} | ${row.complete} / ${row.runs} | ${ms(row.ttft.p50)} | ${ms(row.ttft.p99)} | ${ms(row.tokenLatency.p50)} | ${ms(row.tokenLatency.p99)} | ${usage} |`;
    })
    .join('\n');
  return `## Concurrency

N runs started at once (each 100 tokens, the first after 200 ms, then one every 20 ms), each
watched by one SSE subscriber in a separate process. Two layouts: **one process** is \`npm start\`
(the worker and the API share a process, the live streams are in memory; in this benchmark that
process also serves the model), **split** is \`npm run worker\` and \`npm run api\` as two
processes (the API reads the worker's live streams over HTTP; the model is served by the
benchmark's process). CPU is the time each process used while the N runs streamed; memory its
peak resident size (sampled every 100 ms). The embedded Temporal dev server is another process,
shown too: most of the CPU a run costs is Temporal's. TTFT here
includes every run's workflow start competing with the others. Each layout first serves
${warmupRuns} runs that are not counted. Workers take the first workflow tasks of at most 8 new runs at once
(\`WORKER_MAX_WORKFLOW_TASKS\`, src/temporal/workflow-task-slots.ts); the rows with
\`WORKER_MAX_WORKFLOW_TASKS=40\` run the largest burst on workers with the SDK's own default
instead, the baseline: there the burst's first workflow tasks all land on the event loop in its
first second, and the token latency of the runs already streaming pays. The rows with \`WORKER_MAX_ACTIVITIES\` run the largest
burst again on a worker that runs at most that many steps at once: the others wait in Temporal's
task queue (their runs read \`queued\`), so the runs that stream keep their token latency, and the
waiting ones pay in time to first token.

| layout | concurrent runs | got the whole text | TTFT p50 | TTFT p99 | token latency p50 | p99 | CPU, peak RSS |
| --- | --- | --- | --- | --- | --- | --- | --- |
${table}
`;
}
