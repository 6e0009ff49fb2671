import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { textFrames } from '../src/demo-model/chunks';
import { diff, moduleBreakdown, threadCpu, topFunctions } from './cpu-breakdown';
import { startSubscribers, tokenEnds } from './fanout';
import { canMeterProcesses, processMeter, selfMeter, startBenchStackOn, startSplitBenchStack, temporalServerMeter, type BenchTemporal, type ProcessMeter } from './harness';
import { startModelProcess } from './ttft';

// Where each run's CPU goes (`BENCH_SCENARIOS=cost`): runs of 100 tokens, in waves of 10 at once,
// each watched by one SSE subscriber (another process), in both layouts, next to the floor: a
// workflow with one activity that returns at once, on the same Temporal. For each: CPU per run of
// every process (worker, API, Temporal), Temporal's gRPC requests per run by operation (from its
// metrics), and for the worker and API processes their CPU per thread (JavaScript, Temporal's Rust
// core, V8's helpers) and the JavaScript thread's time per module (a V8 CPU profile of exactly
// the measured window). The model runs in a process of its own.

export interface CostRow {
  subject: string;
  runs: number;
  /** CPU per run, per process. */
  processes: Array<{ name: string; cpuMs: number }>;
  /** Temporal gRPC requests per run, by operation (most first). */
  operations: Array<{ operation: string; perRun: number }>;
  /** Per metered Node process: CPU per run by thread group, and the JavaScript thread's by module. */
  breakdown: Array<{ process: string; threads: Array<[string, number]>; modules: Array<[string, number]> }>;
}

const tokens = 100;
const wave = 10;
const text = Array.from({ length: tokens }, (_, index) => `c${index}`).join(' ');
const pace = { firstTokenDelayMs: 200, tokenDelayMs: 20 };

/** Temporal's requests by operation: those its frontend served (clients and workers), and the internal ones. */
async function requestsByOperation(metricsUrl: string): Promise<Map<string, number>> {
  const body = await (await fetch(metricsUrl)).text();
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    const match = /^service_requests\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const service = /service_name="([^"]+)"/.exec(match[1]!)?.[1];
    const operation = service === 'frontend' ? (/operation="([^"]+)"/.exec(match[1]!)?.[1] ?? 'unknown') : internalRequests;
    out.set(operation, (out.get(operation) ?? 0) + Number(match[2]));
  }
  return out;
}

const internalRequests = '(internal: history and matching services)';

/** Temporal reports its counters with a delay: read them once two reads a second apart agree. */
async function settledRequests(metricsUrl: string): Promise<Map<string, number>> {
  let last = await requestsByOperation(metricsUrl);
  for (let attempt = 0; attempt < 20; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await requestsByOperation(metricsUrl);
    if ([...now].every(([operation, count]) => last.get(operation) === count) && now.size === last.size) return now;
    last = now;
  }
  return last;
}

interface Metered {
  name: string;
  meter: ProcessMeter;
  /** Profiled through SIGWINCH (bench/profile-hook.ts) or, for this process, an inspector session. */
  profile?: { kind: 'signal'; dir: string } | { kind: 'self'; dir: string };
}

/** Runs `runs` runs in waves and returns what they cost; with `profile`, also V8 CPU profiles of the window. */
async function pass(temporal: BenchTemporal, all: Array<{ name: string; meter: ProcessMeter }>, metered: Metered[], runs: number, runWave: (count: number) => Promise<void>, profile: boolean) {
  const session = profile && metered.some((entry) => entry.profile?.kind === 'self') ? new Session() : undefined;
  const post = (method: string, params: object = {}) => new Promise<any>((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  if (profile) {
    for (const entry of metered) {
      if (entry.profile?.kind === 'signal') {
        process.kill(entry.meter.pid, 'SIGWINCH');
        await until(() => existsSync(join(entry.profile!.dir, `${entry.meter.pid}.started`)));
      } else if (entry.profile?.kind === 'self') {
        session!.connect();
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: 1000 });
        await post('Profiler.start');
      }
    }
  }
  // CPU is read right around the runs; Temporal's request counters once they have settled.
  const requestsBefore = await settledRequests(temporal.metricsUrl);
  const cpuBefore = all.map(({ meter }) => meter.cpuMs());
  const threadsBefore = metered.map(({ meter }) => threadCpu(meter.pid));
  for (let start = 0; start < runs; start += wave) await runWave(Math.min(wave, runs - start));
  const threadsAfter = metered.map(({ meter }) => threadCpu(meter.pid));
  const cpu = all.map(({ meter }, index) => meter.cpuMs() - cpuBefore[index]!);
  const requestsAfter = await settledRequests(temporal.metricsUrl);
  const modules: Array<Map<string, number>> = [];
  if (profile) {
    for (const entry of metered) {
      if (entry.profile?.kind === 'signal') {
        const file = join(entry.profile.dir, `${entry.meter.pid}.cpuprofile`);
        process.kill(entry.meter.pid, 'SIGWINCH');
        await until(() => existsSync(file));
        await new Promise((resolve) => setTimeout(resolve, 200));
        modules.push(moduleBreakdown(file));
        if (process.env.BENCH_KEEP_PROFILES) copyFileSync(file, join(process.env.BENCH_KEEP_PROFILES, `split-${subjectSlug(entry.name)}.cpuprofile`));
        if (process.env.BENCH_TOP_FUNCTIONS) console.log(`${entry.name}:\n${topFunctions(file, Number(process.env.BENCH_TOP_FUNCTIONS)).map(([name, ms]) => `  ${ms.toFixed(1)} ms ${name}`).join('\n')}`);
        rmSync(file);
        rmSync(join(entry.profile.dir, `${entry.meter.pid}.started`));
      } else if (entry.profile?.kind === 'self') {
        const { profile: taken } = await post('Profiler.stop');
        const file = join(entry.profile.dir, 'self.cpuprofile');
        writeFileSync(file, JSON.stringify(taken));
        if (process.env.BENCH_KEEP_PROFILES) copyFileSync(file, join(process.env.BENCH_KEEP_PROFILES, `${subjectSlug(entry.name)}.cpuprofile`));
        if (process.env.BENCH_TOP_FUNCTIONS) console.log(topFunctions(file, Number(process.env.BENCH_TOP_FUNCTIONS)).map(([name, ms]) => `  ${ms.toFixed(1)} ms ${name}`).join('\n'));
        session!.disconnect();
        modules.push(moduleBreakdown(file));
      } else modules.push(new Map());
    }
  }
  return { cpu, threads: metered.map((_, index) => diff(threadsAfter[index]!, threadsBefore[index]!)), requests: diff(requestsAfter, requestsBefore), modules };
}

/**
 * Two passes of `runs` runs: the first unprofiled (CPU per process and thread, Temporal's
 * requests), the second under V8's sampling profiler, whose shares of the JavaScript thread's
 * time are applied to the first pass's JavaScript thread (the profiler costs CPU of its own).
 */
async function measure(subject: string, temporal: BenchTemporal, metered: Metered[], runs: number, runWave: (count: number) => Promise<void>): Promise<CostRow> {
  const temporalMeter = temporalServerMeter();
  const all = [...metered, ...(temporalMeter ? [{ name: 'Temporal', meter: temporalMeter }] : [])];
  const plain = await pass(temporal, all, metered, runs, runWave, false);
  const profiled = await pass(temporal, all, metered, runs, runWave, true);
  const perRun = (value: number) => value / runs;
  const sorted = (map: Map<string, number>) => [...map].map(([name, value]) => [name, perRun(value)] as [string, number]).filter(([, value]) => value >= 0.05).sort((a, b) => b[1] - a[1]);
  const scaled = (modules: Map<string, number>, mainThreadMs: number) => {
    const total = [...modules.values()].reduce((sum, value) => sum + value, 0);
    return new Map([...modules].map(([name, value]) => [name, total > 0 ? (value / total) * mainThreadMs : 0]));
  };
  const row: CostRow = {
    subject,
    runs,
    processes: all.map(({ name }, index) => ({ name, cpuMs: perRun(plain.cpu[index]!) })),
    operations: [...plain.requests]
      .map(([operation, count]) => ({ operation, perRun: perRun(count) }))
      .filter((entry) => entry.perRun >= 0.05)
      .sort((a, b) => (a.operation === internalRequests ? 1 : b.operation === internalRequests ? -1 : b.perRun - a.perRun)),
    breakdown: metered.map(({ name }, index) => ({
      process: name,
      threads: sorted(plain.threads[index]!),
      modules: sorted(scaled(profiled.modules[index]!, plain.threads[index]!.get('main (JavaScript)') ?? 0)),
    })),
  };
  console.log(`cost ${subject}: ${row.processes.map((entry) => `${entry.name} ${entry.cpuMs.toFixed(1)} ms`).join(', ')} per run; ${row.operations.map((entry) => `${entry.operation} ${entry.perRun.toFixed(1)}`).join(', ')}`);
  return row;
}

const subjectSlug = (name: string) => name.replace(/\W+/g, '-');

async function until(condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a profile');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One run through the API, watched by one SSE subscriber; resolves when its stream ends. */
function runThroughApi(url: string, subscribers: { add(url: string): void }): Promise<void> {
  return (async () => {
    const response = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `cost ${randomUUID()}`, tools: [] }) });
    const { runId } = (await response.json()) as { runId: string };
    subscribers.add(`${url}/v1/runs/${runId}/events`);
  })();
}

async function stackRuns(subject: string, temporal: BenchTemporal, url: string, metered: Metered[], runs: number): Promise<CostRow> {
  // Warm-up (JIT, connections), not measured.
  const warm = await startSubscribers(1, tokenEnds(text));
  await Promise.all(Array.from({ length: wave }, () => runThroughApi(url, warm)));
  await warm.finish();
  return measure(subject, temporal, metered, runs, async (count) => {
    // One subscriber process per wave; in the one-process layout its spawn (about a millisecond per run) counts as this process's.
    const subscribers = await startSubscribers(1, tokenEnds(text));
    await Promise.all(Array.from({ length: count }, () => runThroughApi(url, subscribers)));
    const result = await subscribers.finish();
    const whole = result.texts.filter((received) => received === text).length;
    if (whole !== count) throw new Error(`${subject}: ${count - whole} subscribers did not get the whole text`);
  });
}

export async function costScenario(temporal: BenchTemporal, runs = 30): Promise<CostRow[]> {
  const rows: CostRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-cost-'));
  try {
    // The floor: one workflow, one activity that returns at once; worker and client in this process.
    {
      const connection = await NativeConnection.connect({ address: temporal.environment.address });
      const taskQueue = `bench-floor-${randomUUID()}`;
      const worker = await Worker.create({ connection, taskQueue, workflowsPath: join(import.meta.dirname, 'floor', 'workflows.ts'), activities: { floorActivity: async () => 'ok' } });
      const running = worker.run();
      const client = new Client({ connection, namespace: temporal.environment.namespace ?? 'default' });
      const one = () => client.workflow.execute('floorWorkflow', { taskQueue, workflowId: `floor-${randomUUID()}`, requestEagerStart: true });
      await Promise.all(Array.from({ length: wave }, one));
      rows.push(await measure('floor: one workflow, one activity', temporal, [{ name: 'worker + client', meter: selfMeter(), profile: { kind: 'self', dir } }], runs, async (count) => void (await Promise.all(Array.from({ length: count }, one)))));
      worker.shutdown();
      await running;
      await connection.close();
    }
    // npm start: worker and API in one process (this one); the model in another.
    {
      const model = await startModelProcess({ ANSWER: text, FIRST_TOKEN_DELAY_MS: String(pace.firstTokenDelayMs), TOKEN_DELAY_MS: String(pace.tokenDelayMs) });
      const bench = await startBenchStackOn(temporal, model.baseURL, `bench-cost-${randomUUID()}`);
      try {
        rows.push(await stackRuns('one process (npm start)', temporal, bench.stack.url, [{ name: 'worker + API', meter: selfMeter(), profile: { kind: 'self', dir } }], runs));
      } finally {
        await bench.close();
        await model.close();
      }
    }
    // The split deployment: npm run worker and npm run api, each profiled in the window.
    if (canMeterProcesses()) {
      const env = { NODE_OPTIONS: `--import ${join(import.meta.dirname, 'profile-hook.mjs')}`, CPU_PROFILE_DIR: dir };
      const split = await startSplitBenchStack(temporal, () => ({ kind: 'stream', frames: textFrames('bench', text, pace) }), `bench-cost-split-${randomUUID()}`, env);
      try {
        rows.push(
          await stackRuns('split (npm run worker + npm run api)', temporal, split.url, [
            { name: 'worker', meter: processMeter(split.worker.pid), profile: { kind: 'signal', dir } },
            { name: 'API', meter: processMeter(split.api.pid), profile: { kind: 'signal', dir } },
          ], runs),
        );
      } finally {
        await split.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function costSection(rows: CostRow[]): string {
  const fmt = (value: number) => value.toFixed(1);
  const summary = rows.map((row) => `| ${row.subject} | ${row.processes.map((entry) => `${entry.name}: ${fmt(entry.cpuMs)} ms`).join('<br>')} | ${row.operations.filter((entry) => entry.operation !== internalRequests).reduce((sum, entry) => sum + entry.perRun, 0).toFixed(1)} |`).join('\n');
  const operations = rows.map((row) => `**${row.subject}**: ${row.operations.map((entry) => `${entry.operation} ${fmt(entry.perRun)}`).join(', ')}`).join('\n\n');
  const breakdowns = rows
    .flatMap((row) =>
      row.breakdown.map(
        (entry) =>
          `**${row.subject}, ${entry.process}**, per run. Threads: ${entry.threads.map(([name, value]) => `${name} ${fmt(value)} ms`).join(', ')}. ` +
          `JavaScript thread by module: ${entry.modules.map(([name, value]) => `${name} ${fmt(value)} ms`).join(', ')}.`,
      ),
    )
    .join('\n\n');
  return `## Cost per run

Runs of ${tokens} tokens (the first after ${pace.firstTokenDelayMs} ms, then one every ${pace.tokenDelayMs} ms), ${wave} at a time, each
watched by one SSE subscriber in another process, the model in a process of its own; next to the
floor: a workflow whose one activity returns at once, started the same way (eager start) on the
same Temporal. CPU per run of each process (from /proc), Temporal's gRPC requests per run (its
\`service_requests\` metric: those its frontend served, and its internal ones), and for the Node
processes their CPU by thread and, on the JavaScript thread, by module. The module shares come
from a second pass of as many runs under V8's sampling profiler (self time of each sample's
innermost frame, started and stopped around exactly the measured window), applied to the first,
unprofiled pass's JavaScript-thread time: the profiler's own cost is in neither.

| subject | CPU per run | requests to Temporal per run |
| --- | --- | --- |
${summary}

Temporal requests per run, by operation:

${operations}

${breakdowns}
`;
}
