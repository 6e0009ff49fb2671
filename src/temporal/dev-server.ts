import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TemporalCli } from './cli';
import { freePort } from './free-port';
import { searchAttributeArgs } from './search-attributes';

// The embedded Temporal: `temporal server start-dev` on a SQLite file under DATA_DIR, so runs
// survive a restart, with the Web UI on.

/**
 * Settings the embedded server runs with (the tests and benchmarks too). Eager activity execution:
 * when a worker completes a workflow task that schedules an activity it also runs, Temporal hands
 * it the activity task in the same reply, skipping a trip through the task queue (about 5 ms less
 * before the model is called; see docs/architecture.md). Off by default in Temporal 1.29;
 * docker-compose.yml turns it on through deploy/temporal/dynamicconfig.yaml.
 */
export const devServerDynamicConfig: Record<string, string | number | boolean> = {
  'system.enableActivityEagerExecution': true,
};

/** `temporal server start-dev` arguments for {@link devServerDynamicConfig}. */
export function dynamicConfigArgs(): string[] {
  return Object.entries(devServerDynamicConfig).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

/**
 * SQLite pragmas for the embedded server's database file (`--sqlite-pragma NAME=VALUE`, passed
 * to SQLite as `PRAGMA NAME=VALUE` on each connection; the benchmarks use the same). Without any,
 * the dev server opens its file with SQLite's defaults: a rollback journal (journal_mode=DELETE)
 * and synchronous=FULL: 8 fsyncs per persisted signal (counted with strace; 2 with a write-ahead
 * log and synchronous=FULL). A write-ahead log with synchronous=NORMAL appends each commit to
 * temporal.db-wal and fsyncs only when it checkpoints the log into temporal.db (every ~1000
 * pages, about 4 MB):
 * - a crash of the dev server (kill -9) loses nothing committed: a commit is in
 *   the WAL file (the OS's page cache) before Temporal acknowledges it, and SQLite replays the log
 *   on the next open (test/dev-server-pragmas.test.ts);
 * - an OS crash or power loss can roll back the commits since the last checkpoint (runs that had
 *   completed may then show an earlier state), but does not corrupt the database;
 * - the data is three files, temporal.db, temporal.db-wal and temporal.db-shm: copy them together
 *   or with the server stopped; a WAL needs a local file system (not a network share).
 * synchronous=FULL with the WAL (an fsync per commit) would survive power loss too, at a cost in
 * time to first token; synchronous=OFF would be no faster than NORMAL here and an OS crash could
 * corrupt the database. SQLite ignores unknown names and values silently (the test checks that
 * the file really is in WAL mode). Measurements: docs/architecture.md, bench/sqlite-pragmas.ts.
 */
export const devServerSqlitePragmas: Readonly<Record<string, string>> = {
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
};

/** `temporal server start-dev` arguments for {@link devServerSqlitePragmas} (or other pragmas). */
export function sqlitePragmaArgs(pragmas: Readonly<Record<string, string>> = devServerSqlitePragmas): string[] {
  return Object.entries(pragmas).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`]);
}

export interface DevServerOptions {
  cli: TemporalCli;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  log: (line: string) => void;
  /** SQLite pragmas for the database file (default {@link devServerSqlitePragmas}). */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /** The API's codec endpoint: the Web UI decodes encrypted payloads through it (PAYLOAD_KEYS). */
  codecEndpoint?: string;
}

const codecArgs = (endpoint: string | undefined) => (endpoint ? ['--ui-codec-endpoint', endpoint] : []);

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The dev server's process id (undefined when the SDK runs the server it downloaded). */
  pid?: number;
  stop(): Promise<void>;
}

export async function startDevServer(givenOptions: DevServerOptions): Promise<DevServer> {
  // Port 0 (TEMPORAL_PORT=0, TEMPORAL_UI_PORT=0): free ones, chosen now; the CLI wants a number.
  const options = { ...givenOptions, port: givenOptions.port || (await freePort()), uiPort: givenOptions.uiPort || (await freePort()) };
  mkdirSync(options.dataDir, { recursive: true });
  const dbFilename = join(options.dataDir, 'temporal.db');
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;

  if (options.cli.kind === 'sdk-download') {
    options.log('[temporal] no local CLI: letting the Temporal SDK download the dev server (needs internet)');
    const environment = await TestWorkflowEnvironment.createLocal({
      server: { ip: '127.0.0.1', port: options.port, uiPort: options.uiPort, ui: true, dbFilename, namespace: options.namespace, extraArgs: [...dynamicConfigArgs(), ...searchAttributeArgs(), ...sqlitePragmaArgs(options.sqlitePragmas), ...codecArgs(options.codecEndpoint)] },
    });
    return { address: environment.address, uiUrl, stop: () => environment.teardown() };
  }

  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--db-filename', dbFilename,
    '--namespace', options.namespace,
    '--log-level', 'warn',
    ...dynamicConfigArgs(),
    ...searchAttributeArgs(),
    ...sqlitePragmaArgs(options.sqlitePragmas),
    ...codecArgs(options.codecEndpoint),
  ];
  const child = spawn(options.cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = waitUntilServing(address, 60_000);
  const outcome = await Promise.race([ready.then(() => 'ready' as const), exited.then((code) => code)]);
  if (outcome !== 'ready') {
    ready.cancel();
    throw new Error(`temporal server start-dev exited (code ${outcome}) before serving on ${address}:\n${output.trim()}`);
  }
  // After start-up, only errors are worth showing.
  child.stdout!.off('data', collect);
  const showErrors = (chunk: Buffer) => options.log(`[temporal] ${chunk.toString('utf8').trimEnd()}`);
  child.stderr!.on('data', showErrors);
  return {
    address,
    uiUrl,
    pid: child.pid,
    stop: () => {
      // Shutting down makes the dev server complain about its own closed connections: not news.
      child.stderr!.off('data', showErrors);
      return stopChild(child, exited);
    },
  };
}

function waitUntilServing(address: string, timeoutMs: number) {
  let cancelled = false;
  const promise = (async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (cancelled) return;
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`Temporal did not start serving on ${address} within ${timeoutMs / 1000} s: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  })();
  return Object.assign(promise, { cancel: () => (cancelled = true) });
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
