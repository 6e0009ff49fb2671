import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';

// One process of the cluster: started in a process group of its own (so that a kill reaches what
// it starts, runuser's child included), its output appended to a log file, and killed or stopped
// and started again on demand (the cluster test kills parts with SIGKILL and brings them back).

export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** How it is asked to stop (SIGTERM unless it wants another); SIGKILL after stopTimeoutMs. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
}

export class Supervised {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private output = '';
  private readonly listeners = new Set<() => void>();
  private exit: Promise<void> = Promise.resolve();

  constructor(readonly options: SupervisedOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    mkdirSync(dirname(this.options.logFile), { recursive: true });
    this.log ??= createWriteStream(this.options.logFile, { flags: 'a' });
    this.output = '';
    const child = spawn(this.options.command, this.options.args, { cwd: this.options.cwd, env: this.options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.output = `${this.output}${chunk.toString('utf8')}`.slice(-64_000);
      for (const listener of this.listeners) listener();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exit = new Promise((resolve) => child.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`${this.name}: ${error.message}`)));
    });
  }

  /** The first match of `pattern` in what it printed since it last started. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern);
        if (match) return done(() => resolve(match));
        if (!this.running) return done(() => reject(new Error(`${this.name} exited before printing ${pattern}; its last output:\n${this.output.slice(-3000)}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms; its last output:\n${this.output.slice(-3000)}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      void this.exit.then(check);
      check();
    });
  }

  /** Until a TCP connection to host:port succeeds. */
  async waitForPort(host: string, port: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await canConnect(host, port)) return;
      if (!this.running) throw new Error(`${this.name} exited before listening on ${host}:${port}; its last output:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} is not listening on ${host}:${port} after ${timeoutMs} ms; its last output:\n${this.output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sends `signal` to its whole process group and waits until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running || this.child?.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
    await this.exit;
  }

  /** Asks it to stop (its stop signal), then kills it if it has not within the timeout. */
  async stop(): Promise<void> {
    if (this.running && this.child?.pid !== undefined) {
      try {
        process.kill(-this.child.pid, this.options.stopSignal ?? 'SIGTERM');
      } catch {
        // Already gone.
      }
      const timedOut = await Promise.race([this.exit.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), this.options.stopTimeoutMs ?? 10_000).unref())]);
      if (timedOut) await this.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }

  /** What it printed since it last started (the tail). */
  recentOutput(): string {
    return this.output;
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
