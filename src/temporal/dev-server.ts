import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TemporalCli } from './cli';

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

export interface DevServerOptions {
  cli: TemporalCli;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  log: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const dbFilename = join(options.dataDir, 'temporal.db');
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;

  if (options.cli.kind === 'sdk-download') {
    options.log('[temporal] no local CLI: letting the Temporal SDK download the dev server (needs internet)');
    const environment = await TestWorkflowEnvironment.createLocal({
      server: { ip: '127.0.0.1', port: options.port, uiPort: options.uiPort, ui: true, dbFilename, namespace: options.namespace, extraArgs: dynamicConfigArgs() },
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
