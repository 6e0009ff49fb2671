import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../src/config';
import { startModelServer, type ModelServer, type Responder } from '../src/demo-model/server';
import type { MemoryRelay } from '../src/relay/memory-relay';
import { startStack, type Stack, type StackOptions } from '../src/stack';
import { cliVersion, findTemporalCli } from '../src/temporal/cli';
import { devServerSqlitePragmas, dynamicConfigArgs, sqlitePragmaArgs } from '../src/temporal/dev-server';
import { startChild } from '../test/helpers/processes';
import { freePort } from '../src/temporal/free-port';
import { searchAttributeArgs } from '../src/temporal/search-attributes';

// One embedded Temporal for a benchmark run, and stacks (worker + API) against local models.

Runtime.install({ logger: new DefaultLogger('WARN') });

export interface BenchTemporal {
  environment: TestWorkflowEnvironment;
  version: string;
  /** Where the dev server keeps its data: 'memory', or the SQLite file and its pragmas. */
  storage: BenchStorage;
  /** The dev server's Prometheus metrics (requests by gRPC operation, among others). */
  metricsUrl: string;
  close(): Promise<void>;
}

export type BenchStorage = { kind: 'memory' } | { kind: 'file'; dbFilename: string; pragmas: Record<string, string> };

export interface BenchTemporalOptions {
  /**
   * A SQLite file as `npm start` has (a fresh one in a temporary directory, removed on close),
   * instead of the default SQLite in memory. `true`: with the pragmas npm start uses
   * (devServerSqlitePragmas); or the pragmas to use (`{}`: the dev server's defaults).
   */
  file?: true | Record<string, string>;
  /** Directory for that file (default: the OS's temporary directory). */
  fileDir?: string;
}

export async function startBenchTemporal(options: BenchTemporalOptions = {}): Promise<BenchTemporal> {
  const cli = await findTemporalCli();
  // The settings npm start gives its embedded server (BENCH_EAGER=0 measures without them).
  const metricsPort = await freePort();
  const extraArgs = [...(process.env.BENCH_EAGER !== '0' ? dynamicConfigArgs() : []), ...searchAttributeArgs(), '--metrics-port', String(metricsPort)];
  let storage: BenchStorage = { kind: 'memory' };
  let dir: string | undefined;
  if (options.file) {
    dir = mkdtempSync(join(options.fileDir ?? tmpdir(), 'bench-temporal-'));
    const pragmas = options.file === true ? { ...devServerSqlitePragmas } : { ...options.file };
    storage = { kind: 'file', dbFilename: join(dir, 'temporal.db'), pragmas };
    extraArgs.push(...sqlitePragmaArgs(pragmas));
  }
  const dbFilename = storage.kind === 'file' ? { dbFilename: storage.dbFilename } : {};
  const environment = await TestWorkflowEnvironment.createLocal(
    cli.kind === 'path' ? { server: { executable: { type: 'existing-path', path: cli.path }, ip: '127.0.0.1', extraArgs, ...dbFilename } } : { server: { extraArgs, ...dbFilename } },
  );
  return {
    environment,
    version: cli.kind === 'path' ? cliVersion(cli.path) : 'sdk download',
    storage,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async close() {
      await environment.teardown();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchStack<Model extends Pick<ModelServer, 'baseURL' | 'close'> = ModelServer> {
  stack: Stack;
  model: Model;
  close(): Promise<void>;
}

/** A peer's activities, given the stack's relay and the model's base URL. */
export type PeerActivities = (relay: MemoryRelay, modelBaseURL: string) => Record<string, (...args: any[]) => Promise<unknown>>;

/** A stack against a model served in this process by `responder`. */
export async function startBenchStack(temporal: BenchTemporal, responder: Responder, taskQueue: string, overrides: Partial<StackOptions> = {}, peer?: PeerActivities): Promise<BenchStack> {
  return stackAgainst(temporal, await startModelServer(responder), taskQueue, overrides, peer);
}

/** A stack against a model that runs in another process (bench/model-process.ts). */
export function startBenchStackOn(temporal: BenchTemporal, modelBaseURL: string, taskQueue: string): Promise<BenchStack<Pick<ModelServer, 'baseURL' | 'close'>>> {
  return stackAgainst(temporal, { baseURL: modelBaseURL, close: async () => undefined }, taskQueue);
}

async function stackAgainst<Model extends Pick<ModelServer, 'baseURL' | 'close'>>(temporal: BenchTemporal, model: Model, taskQueue: string, overrides: Partial<StackOptions> = {}, peer?: PeerActivities): Promise<BenchStack<Model>> {
  const config = loadConfig({});
  const stack = await startStack({
    client: temporal.environment.client,
    nativeConnection: temporal.environment.nativeConnection,
    namespace: temporal.environment.namespace ?? 'default',
    taskQueue,
    model: { ...config.model, baseURL: model.baseURL, name: 'bench', useDemo: false },
    limits: config.limits,
    toolSettings: config.tools,
    temporalUiUrl: config.temporal.uiUrl,
    // As npm start does (BENCH_EAGER=0 measures without eager start).
    ...(process.env.BENCH_EAGER !== '0' ? { eagerClient: new Client({ connection: temporal.environment.nativeConnection, namespace: temporal.environment.namespace ?? 'default' }) } : {}),
    ...(peer ? { activityOverrides: (relay: MemoryRelay) => peer(relay, model.baseURL) } : {}),
    ...overrides,
  });
  return {
    stack,
    model,
    async close() {
      await stack.stop();
      await model.close();
    },
  };
}

export { runToEnd } from './harness-client';

/** CPU and memory of another process, read from /proc (Linux). */
export interface ProcessMeter {
  pid: number;
  /** User + system CPU time so far, in ms (10 ms resolution). */
  cpuMs(): number;
  /** Resident memory now, in bytes. */
  rssBytes(): number;
}

const clockTicksPerSecond = 100;

export function processMeter(pid: number): ProcessMeter {
  return {
    pid,
    cpuMs() {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) in parentheses: utime and stime are
      // the 14th and 15th fields of the line.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
    },
    rssBytes() {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : Number.NaN;
    },
  };
}

/** Where a benchmark runs the worker and the API: together (npm start) or apart. */
export type Layout = 'one process' | 'split';

/** Whether per-process CPU and memory can be read here. */
export const canMeterProcesses = () => existsSync('/proc/self/stat');

export interface SplitBenchStack {
  url: string;
  model: ModelServer;
  worker: ProcessMeter;
  api: ProcessMeter;
  close(): Promise<void>;
}

/**
 * The split deployment: `npm run worker` and `npm run api` as processes of their own (the API
 * reads the worker's live streams over HTTP), against a model served in this process.
 */
export async function startSplitBenchStack(temporal: BenchTemporal, responder: Responder, taskQueue: string, extraEnv: Record<string, string> = {}): Promise<SplitBenchStack> {
  const model = await startModelServer(responder);
  const env = { TEMPORAL_ADDRESS: temporal.environment.address, RELAY_SECRET: randomBytes(24).toString('hex'), OPENAI_BASE_URL: model.baseURL, MODEL: 'bench', TASK_QUEUE: taskQueue, ...extraEnv };
  const worker = startChild('src/worker.ts', { ...env, STREAM_PORT: '0' });
  const api = startChild('src/api/server.ts', { ...env, PORT: '0' });
  try {
    await worker.waitFor(/worker polling/, 120_000);
    const url = (await api.waitFor(/API: (http:\/\/\S+)/, 120_000))[1]!;
    return {
      url,
      model,
      worker: processMeter(worker.process.pid!),
      api: processMeter(api.process.pid!),
      async close() {
        await Promise.all([worker.stop(), api.stop()]);
        await model.close();
      },
    };
  } catch (error) {
    await Promise.all([worker.stop(), api.stop()]);
    await model.close();
    throw error;
  }
}

/** The embedded Temporal dev server, a child of this process (undefined where /proc is absent). */
export function temporalServerMeter(): ProcessMeter | undefined {
  if (!canMeterProcesses()) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== process.pid) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (command.includes('start-dev')) return processMeter(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return undefined;
}

/** This process, metered the same way as the split layout's processes (from /proc when it can). */
export function selfMeter(): ProcessMeter {
  if (canMeterProcesses()) return processMeter(process.pid);
  return {
    pid: process.pid,
    cpuMs: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    },
    rssBytes: () => process.memoryUsage().rss,
  };
}

/** A stack in one layout, as a scenario measures it: where to send requests, what to meter. */
export interface LayoutTarget {
  url: string;
  model: ModelServer;
  meters: Array<{ name: string; meter: ProcessMeter }>;
}

/**
 * Runs `measure` against the stack in one process (npm start), then split (npm run worker + npm
 * run api) where /proc lets the processes be metered apart. `extraMeters` are added to both.
 */
export async function inEachLayout(
  temporal: BenchTemporal,
  responder: Responder,
  taskQueue: string,
  measure: (target: LayoutTarget, layout: Layout) => Promise<void>,
  extraMeters: LayoutTarget['meters'] = [],
  /** Settings of both layouts: the one-process stack's options, and the split processes' environment. */
  settings: { overrides?: Partial<StackOptions>; env?: Record<string, string> } = {},
): Promise<void> {
  const bench = await startBenchStack(temporal, responder, taskQueue, settings.overrides);
  try {
    // The model is served by this process too in this layout.
    await measure({ url: bench.stack.url, model: bench.model, meters: [{ name: 'worker + API (+ model)', meter: selfMeter() }, ...extraMeters] }, 'one process');
  } finally {
    await bench.close();
  }
  if (!canMeterProcesses()) {
    console.log(`${taskQueue}: no /proc here, so the split layout (worker and API metered apart) is left out`);
    return;
  }
  const split = await startSplitBenchStack(temporal, responder, `${taskQueue}-split`, settings.env);
  try {
    await measure({ url: split.url, model: split.model, meters: [{ name: 'worker', meter: split.worker }, { name: 'API', meter: split.api }, ...extraMeters] }, 'split');
  } finally {
    await split.close();
  }
}
