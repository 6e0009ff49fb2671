import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackage } from '../../deploy/debian';

// A command in a real terminal: a tmux pane of a server of its own (-L), so the command sees a
// TTY (isTTY, columns, rows) and Ctrl-C is a real SIGINT from the terminal. The pane stays after
// the command, with "EXIT:<code>" printed, until close().

export interface Pane {
  /** The whole pane, history included, wrapped lines joined. */
  capture(): string;
  sendKeys(...keys: string[]): void;
  /** Resolves with the command's exit code. */
  exited(timeoutMs?: number): Promise<number>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  close(): void;
}

const socket = `cli-test-${process.pid}`;

function tmux(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export function openPane(argv: string[], options: { env: Record<string, string>; cwd: string; columns?: number; rows?: number }): Pane {
  ensureDebianPackage('tmux');
  const name = `pane-${randomUUID().slice(0, 8)}`;
  const env = Object.entries(options.env).map(([key, value]) => `${key}=${quote(value)}`).join(' ');
  const shell = `env ${env} ${argv.map(quote).join(' ')}; echo "EXIT:$?"; sleep 3600`;
  tmux('new-session', '-d', '-s', name, '-x', String(options.columns ?? 160), '-y', String(options.rows ?? 50), '-c', options.cwd, shell);
  const pane: Pane = {
    capture: () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', name),
    sendKeys: (...keys) => void tmux('send-keys', '-t', name, ...keys),
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(pane.capture());
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`no ${pattern} in the pane within ${timeoutMs} ms:\n${pane.capture()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async exited(timeoutMs = 60_000) {
      return Number((await pane.waitFor(/^EXIT:(\d+)$/m, timeoutMs))[1]);
    },
    close() {
      // CLI_TEST_SCREENS=<dir> keeps each pane's last screen, to look at what people would see.
      if (process.env.CLI_TEST_SCREENS) writeFileSync(join(process.env.CLI_TEST_SCREENS, `${name}.txt`), `$ ${argv.slice(1).join(' ')}\n${pane.capture()}`);
      spawnSync('tmux', ['-L', socket, 'kill-session', '-t', name]);
    },
  };
  return pane;
}

/** Ends the tmux server of this process's panes. */
export function closeTmux(): void {
  spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
}
