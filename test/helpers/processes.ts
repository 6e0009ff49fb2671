import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';

// Real child processes of the project (npm run worker / api), for tests of split deployments.

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startChild(script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no ${pattern} in the output of ${script} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`${script} exited with ${code} before ${pattern}:\n${output}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Of `workers` (whose stream addresses are `streams`, in the same order), the one running the
 * run's activity now, as its heartbeat details say (payloads not encrypted).
 */
export async function workerRunningActivity(client: Client, runId: string, workers: Child[], streams: string[]): Promise<Child> {
  const description = await client.workflow.getHandle(runId).describe();
  const details = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  const relay = details ? (JSON.parse(Buffer.from(details.data!).toString('utf8')) as { relay: string }).relay : '';
  const worker = workers[streams.indexOf(relay)];
  assert.ok(worker, `the worker streaming at ${relay}`);
  return worker;
}
