import { z } from 'zod';
import type { ToolDefinition } from './registry';

// Sleeps, reporting progress about every second: the long-running demo tool. Cancellation ends
// it at once.

export const waitTool: ToolDefinition<{ seconds: number }> = {
  name: 'wait',
  description: 'Waits the given number of seconds (up to one hour), reporting progress every second.',
  parameters: z.object({ seconds: z.number().min(0).max(3600).describe('How long to wait, in seconds') }),
  idempotent: true,
  // A timer: its latency is its argument, not a sign of load.
  concurrencyKey: null,
  timeoutMs: 3_700_000,
  async run({ seconds }, context) {
    const total = seconds * 1000;
    const started = Date.now();
    // A retried attempt picks up where the last one reported, rather than starting over.
    const done = Math.min(total, (context.lastProgress?.fraction ?? 0) * total);
    await new Promise<void>((resolve, reject) => {
      const finish = () => {
        clearInterval(ticker);
        clearTimeout(timer);
        context.signal.removeEventListener('abort', abort);
      };
      const abort = () => {
        finish();
        reject(context.signal.reason ?? new Error('cancelled'));
      };
      const ticker = setInterval(() => {
        const elapsed = Math.min(total, done + Date.now() - started);
        context.progress({ message: `waited ${Math.round(elapsed / 1000)} of ${seconds} s`, fraction: total === 0 ? 1 : elapsed / total });
      }, 1000);
      const timer = setTimeout(() => {
        finish();
        resolve();
      }, total - done);
      if (context.signal.aborted) abort();
      else context.signal.addEventListener('abort', abort, { once: true });
    });
    return `waited ${seconds} s`;
  },
};
