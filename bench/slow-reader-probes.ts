import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { UnixEntrance } from '../test/helpers/slow-reader';

// What the slow-reader scenario measures with: the slow reader in a process of its own, Node's
// buffer for its connection, and the heap between full collections.

export interface SlowOutcome {
  text: string;
  deltaFrames: number;
  bytes: number;
  ended: boolean;
  /** When its last text delta arrived (ms since the epoch). */
  lastTextAt: number;
}

export function startSlowReader(url: string, socketPath: string, bytesPerSecond: number): Promise<{ stop(): void; outcome: Promise<SlowOutcome> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'slow-reader-client.ts')], {
    env: { ...process.env, URL: url, SOCKET_PATH: socketPath, BYTES_PER_SECOND: String(bytesPerSecond) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.startsWith('ready')) resolve({ stop: () => child.stdin!.end(), outcome: exited.then(() => JSON.parse(output.split('\n').find((line) => line.startsWith('{'))!) as SlowOutcome) });
    });
  });
}

/** Samples Node's buffer for the Unix socket's connection every 25 ms; stop() gives the largest per quarter. */
export function sampleBuffered(unix: UnixEntrance): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    const socket = unix.sockets[0];
    if (socket && !socket.destroyed) samples.push(socket.writableLength);
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      const quarter = Math.ceil(samples.length / 4);
      return [0, 1, 2, 3].map((index) => Math.max(0, ...samples.slice(index * quarter, (index + 1) * quarter)));
    },
  };
}

/** A full garbage collection, so that heap figures compare what is held, not what is garbage. */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
