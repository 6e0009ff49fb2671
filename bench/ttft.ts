import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startBenchStackOn, startBenchTemporal, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// Time to first token through the whole stack (POST /v1/runs to the first text.delta at an SSE
// client) against the same model read directly with the openai client, interleaved pair by pair.
// As in production, the client and the model are processes of their own (bench/ttft-client.ts,
// bench/model-process.ts): the stack's process holds only the worker and the API.

export interface TtftResult extends TtftMeasurement {
  settings: TtftMeasurement['settings'] & {
    /** Where the Temporal of the top-level figures keeps its data (the benchmark's: in memory). */
    temporalStorage?: string;
  };
  /**
   * The same measurement against a dev server on a SQLite file with the pragmas npm start uses
   * (src/temporal/dev-server.ts), in the same run; absent with BENCH_TTFT_FILE=0.
   */
  sqliteFile?: TtftMeasurement & { storage: string; pragmas: Record<string, string> };
}

export interface TtftMeasurement {
  settings: { runs: number; warmup: number; firstTokenDelayMs: number; processes: string };
  direct: Summary;
  stack: Summary;
  added: Summary;
  /** Plain round trips to Temporal on this machine: no storage, a read, a persisted write. */
  roundTrips: { systemInfo: Summary; describe: Summary; signal: Summary };
  /** Where the time went, per segment (p50 over the runs), from timestamps of every party. */
  breakdown: Array<{ segment: string; direct?: Summary; stack: Summary }>;
  raw: { direct: number[]; stack: number[] };
}

interface ClientOutput {
  direct: number[];
  stack: number[];
  runs: Array<{ label: string; runId: string; sent: number; firstDelta: number }>;
  directRequests: Array<{ label: string; sent: number; firstDelta: number }>;
}

export interface ModelOutput {
  requests: Array<{ input: string; receivedAt: number; firstChunkAt?: number }>;
}

function startBenchProcess(script: string, env: Record<string, string>, stdin: 'pipe' | 'ignore'): { child: ChildProcess; output: Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: exited.then(() => output), exited };
}

const jsonLine = <T>(output: string): T => JSON.parse(output.split('\n').find((line) => line.startsWith('{'))!) as T;

/** Starts bench/model-process.ts; `close` stops it and returns what it recorded. */
export async function startModelProcess(env: Record<string, string>): Promise<{ baseURL: string; close(): Promise<ModelOutput> }> {
  const { child, output, exited } = startBenchProcess('model-process.ts', env, 'pipe');
  let seen = '';
  const baseURL = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      seen += chunk;
      const match = /^url (\S+)$/m.exec(seen);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`the model process exited with ${code} before serving`)));
  });
  return {
    baseURL,
    async close() {
      child.stdin!.end();
      return jsonLine<ModelOutput>(await output);
    },
  };
}

/** Epoch milliseconds of history events: the first of each type that `types` names. */
async function eventTimes(temporal: BenchTemporal, runId: string) {
  const history = await temporal.environment.client.workflow.getHandle(runId).fetchHistory();
  const first = (has: (event: NonNullable<typeof history.events>[number]) => unknown) => {
    const event = (history.events ?? []).find(has);
    return event ? Number(event.eventTime!.seconds) * 1000 + (event.eventTime!.nanos ?? 0) / 1e6 : Number.NaN;
  };
  return {
    started: first((event) => event.workflowExecutionStartedEventAttributes),
    taskCompleted: first((event) => event.workflowTaskCompletedEventAttributes),
    activityStarted: first((event) => event.activityTaskStartedEventAttributes),
  };
}

/** Round trips to Temporal from this process, the floor under every hop above. */
async function roundTrips(temporal: BenchTemporal, count: number): Promise<TtftResult['roundTrips']> {
  const { client } = temporal.environment;
  const timed = async (run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    return performance.now() - started;
  };
  const systemInfo: number[] = [];
  const describe: number[] = [];
  const signal: number[] = [];
  for (let i = 0; i < count + 5; i++) {
    // A workflow no worker runs (its task queue has none): only Temporal's own work is timed.
    const handle = await client.workflow.start('roundTrip', { taskQueue: 'bench-round-trips-no-worker', workflowId: `bench-round-trip-${Date.now()}-${i}` });
    const times = [await timed(() => client.workflowService.getSystemInfo({})), await timed(() => handle.describe()), await timed(() => handle.signal('ping'))];
    await handle.terminate('benchmark round trip');
    if (i < 5) continue;
    systemInfo.push(times[0]!);
    describe.push(times[1]!);
    signal.push(times[2]!);
  }
  return { systemInfo: summarize(systemInfo), describe: summarize(describe), signal: summarize(signal) };
}

const storageName = (temporal: BenchTemporal) =>
  temporal.storage.kind === 'memory'
    ? 'SQLite in memory'
    : `SQLite file${Object.keys(temporal.storage.pragmas).length ? ` (${Object.entries(temporal.storage.pragmas).map(([key, value]) => `${key}=${value}`).join(', ')})` : ' (default pragmas)'}`;

/**
 * Time to first token against `temporal` (the benchmark's, in memory), then against a dev server
 * on a SQLite file as `npm start` runs it (same pragmas), unless BENCH_TTFT_FILE=0.
 */
export async function ttftScenario(temporal: BenchTemporal, runs: number, firstTokenDelayMs = 100): Promise<TtftResult> {
  const main = await measureTtft(temporal, runs, firstTokenDelayMs);
  const result: TtftResult = { ...main, settings: { ...main.settings, temporalStorage: storageName(temporal) } };
  if (process.env.BENCH_TTFT_FILE === '0' || temporal.storage.kind === 'file') return result;
  const fileTemporal = await startBenchTemporal({ file: true });
  try {
    const file = await measureTtft(fileTemporal, runs, firstTokenDelayMs);
    result.sqliteFile = { ...file, storage: storageName(fileTemporal), pragmas: fileTemporal.storage.kind === 'file' ? fileTemporal.storage.pragmas : {} };
  } finally {
    await fileTemporal.close();
  }
  return result;
}

/** One TTFT measurement against one Temporal. */
export async function measureTtft(temporal: BenchTemporal, runs: number, firstTokenDelayMs = 100): Promise<TtftMeasurement> {
  const warmup = 5;
  const answer = Array.from({ length: 20 }, (_, index) => `token${index}`).join(' ');
  const model = await startModelProcess({ ANSWER: answer, FIRST_TOKEN_DELAY_MS: String(firstTokenDelayMs), TOKEN_DELAY_MS: '2' });
  let client: ClientOutput;
  let modelRecords: ModelOutput;
  try {
    const bench = await startBenchStackOn(temporal, model.baseURL, 'bench-ttft');
    try {
      const clientProcess = startBenchProcess('ttft-client.ts', { MODEL_URL: model.baseURL, STACK_URL: bench.stack.url, PAIRS: String(runs), WARMUP: String(warmup) }, 'ignore');
      const [output, code] = await Promise.all([clientProcess.output, clientProcess.exited]);
      if (code !== 0) throw new Error(`the TTFT client exited with ${code}`);
      client = jsonLine<ClientOutput>(output);
    } finally {
      await bench.close();
    }
  } finally {
    modelRecords = await model.close();
  }
  const request = new Map(modelRecords.requests.map((record) => [record.input, record]));
  const at = (label: string) => request.get(label) ?? { receivedAt: Number.NaN, firstChunkAt: Number.NaN };
  const stackSegments = await Promise.all(
    client.runs.map(async (run) => {
      const events = await eventTimes(temporal, run.runId);
      const model = at(run.label);
      return {
        toStarted: events.started - run.sent,
        workflowTask: events.taskCompleted - events.started,
        dispatch: events.activityStarted - events.taskCompleted,
        toModel: model.receivedAt - events.activityStarted,
        model: model.firstChunkAt! - model.receivedAt,
        delivery: run.firstDelta - model.firstChunkAt!,
      };
    }),
  );
  const directSegments = client.directRequests.map((read) => {
    const model = at(read.label);
    return { toModel: model.receivedAt - read.sent, model: model.firstChunkAt! - model.receivedAt, delivery: read.firstDelta - model.firstChunkAt! };
  });
  const of = <T>(rows: T[], key: keyof T) => summarize(rows.map((row) => row[key] as number));
  const added = client.stack.map((time, index) => time - client.direct[index]!);
  return {
    settings: { runs, warmup, firstTokenDelayMs, processes: 'the client, the model, and the stack (worker + API) each in a process of their own' },
    direct: summarize(client.direct),
    stack: summarize(client.stack),
    added: summarize(added),
    breakdown: [
      { segment: 'client sends POST /v1/runs → Temporal records the workflow started', stack: of(stackSegments, 'toStarted') },
      { segment: 'the first workflow task: Temporal hands it to the worker (eager start), the worker runs it and completes it', stack: of(stackSegments, 'workflowTask') },
      { segment: 'workflow task completed → model activity started (eager activity dispatch)', stack: of(stackSegments, 'dispatch') },
      { segment: 'request sent → it reaches the model (stack: from the activity started, so including its dispatch to the worker)', direct: of(directSegments, 'toModel'), stack: of(stackSegments, 'toModel') },
      { segment: "the model's own first-token delay", direct: of(directSegments, 'model'), stack: of(stackSegments, 'model') },
      { segment: 'first token written → first text.delta at the client (stack: activity, relay, API, SSE)', direct: of(directSegments, 'delivery'), stack: of(stackSegments, 'delivery') },
    ],
    roundTrips: await roundTrips(temporal, 30),
    raw: { direct: client.direct, stack: client.stack },
  };
}

const row = (name: string, summary: Summary) => `| ${name} | ${ms(summary.p50)} | ${ms(summary.p90)} | ${ms(summary.p99)} | ${ms(summary.min)} | ${ms(summary.max)} |`;

/** The in-memory and the npm start (SQLite file) figures side by side, when both were measured. */
function storageComparison(result: TtftResult): string {
  const file = result.sqliteFile;
  if (!file) return '';
  const line = (name: string, measured: TtftMeasurement) =>
    `| ${name} | ${ms(measured.direct.p50)} | ${ms(measured.stack.p50)} | ${ms(measured.stack.p99)} | ${ms(measured.added.p50)} | ${ms(measured.added.p99)} | ${ms(measured.roundTrips.signal.p50)} |`;
  return `
### In memory and on \`npm start\`'s SQLite file

The figures above are against the benchmark's dev server, which keeps its data in memory
(${result.settings.temporalStorage ?? 'SQLite in memory'}). \`npm start\` runs it on a SQLite file
under DATA_DIR, with the pragmas in src/temporal/dev-server.ts. The same measurement, in the same
run, against a dev server on a fresh file in the OS's temporary directory with those pragmas
(${Object.entries(file.pragmas).map(([key, value]) => `${key}=${value}`).join(', ') || 'none'}): ${file.settings.runs} pairs after ${file.settings.warmup} warm-up pairs.

| Temporal's storage | direct p50 | stack p50 | stack p99 | added p50 | added p99 | signal round trip p50 |
| --- | --- | --- | --- | --- | --- | --- |
${line('in memory (the figures above)', result)}
${line(`npm start: ${file.storage}`, file)}

Each persisted write before the model is called (the start; the first workflow task's
completion) waits for a SQLite commit: on a file, a commit also pays for what the pragmas make
SQLite do to make it durable (fsyncs with SQLite's defaults; none with a write-ahead log and
synchronous=NORMAL, which syncs at checkpoints only).
`;
}

export function ttftSection(result: TtftResult): string {
  const targets = { p50: 20, p99: 60 };
  const verdict = (value: number, target: number) => `${ms(value)} (target ≤ ${target} ms: ${value <= target ? 'met' : 'missed'})`;
  const breakdown = result.breakdown.map((row) => `| ${row.segment} | ${row.direct ? ms(row.direct.p50) : '—'} | ${ms(row.stack.p50)} |`).join('\n');
  const trips = result.roundTrips;
  return `## Time to first token

What the orchestrator adds to the model's own time to first token: POST \`/v1/runs\` to the first
\`text.delta\` at an SSE client, through Temporal (embedded dev server), the worker, the streaming
activity, the in-process relay and the API, against the same model read directly with the
\`openai\` client. Both are measured in the same run, interleaved pair by pair, against a local
OpenAI-compatible model with a ${result.settings.firstTokenDelayMs} ms first-token delay;
${result.settings.runs} pairs after ${result.settings.warmup} warm-up pairs. As in production,
${result.settings.processes}.

| measure | p50 | p90 | p99 | min | max |
| --- | --- | --- | --- | --- | --- |
${row('direct (baseline)', result.direct)}
${row('through the stack', result.stack)}
${row('**added by the orchestrator**', result.added)}

Added p50 ${verdict(result.added.p50, targets.p50)}; p99 ${verdict(result.added.p99, targets.p99)}.

Where the time goes (p50 of each segment, from the client's, the model's and Temporal's own
timestamps on one clock; the history's event times are when Temporal's history service
recorded each event):

| segment | direct | through the stack |
| --- | --- | --- |
${breakdown}

The floor under those segments, measured in the same run: a round trip from this process to the
dev server takes ${ms(trips.systemInfo.p50)} with no storage (\`GetSystemInfo\`),
${ms(trips.describe.p50)} for a read (\`DescribeWorkflowExecution\`) and ${ms(trips.signal.p50)} for
a persisted write (a signal), at p50. Before the model is called, a run needs two persisted writes
in sequence (the start, which with eager start also hands the first workflow task to this
process's worker; the completion of that task, which with eager activity dispatch also hands back
the model activity) and one workflow task in the SDK's sandbox (a new workflow is set up in the
worker's V8 context and run to its first activity call). Eager workflow start and eager activity
dispatch already removed the two trips through the task queues (about 5 ms each). What is left is
mostly Temporal's own work on this 2-core machine (docs/architecture.md has the profile: the
API's and the activity's own code take under 1 ms each on this path). Going lower would mean
calling the model before Temporal has recorded the step, giving up that a run's steps are
scheduled, retried and located (heartbeats) by Temporal.
${storageComparison(result)}`;
}
