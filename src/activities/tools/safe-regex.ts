import { Worker } from 'node:worker_threads';
import RE2 from 're2';
import { ToolInputError } from './registry';

// Regular expressions from the model run on RE2, in linear time (`^(a+)+$` against "aaa…ab" takes
// microseconds there and seconds per line in V8's backtracking engine), and on a worker thread
// under a time budget, since linear in text times pattern size can still be long. No pattern can
// stop the event loop that serves SSE. RE2 has no backreferences or lookaround: such a pattern is
// refused with a message saying so, never run on a backtracking engine instead.

// The messages exchanged with regex-worker.mjs.
interface RegexWorkerData {
  pattern: string;
  maxLineChars: number;
}

interface RegexJob {
  id: number;
  bytes: Uint8Array;
  maxMatches: number;
}

interface RegexJobResult {
  id: number;
  /** 1-based line numbers, with the start of each line. */
  matches: Array<{ line: number; text: string }>;
}

/** Throws a ToolInputError the model can act on when RE2 cannot run `pattern`. */
export function checkRegex(pattern: string): void {
  try {
    new RE2(pattern);
    return;
  } catch (error) {
    try {
      // Only compiled, never run: tells a typo from a feature RE2 lacks.
      new RegExp(pattern);
    } catch (syntaxError) {
      throw new ToolInputError(`invalid regular expression: ${(syntaxError as Error).message}`);
    }
    throw new ToolInputError(
      `unsupported regular expression (${(error as Error).message}): patterns run on RE2, which has no backreferences (\\1, \\k<name>) ` +
        'and no lookahead or lookbehind ((?=, (?!, (?<=, (?<!), and repeats at most {1000}; rewrite the pattern without them, or search for plain text',
    );
  }
}

/** The search's time budget for its regular expression ran out. */
export class RegexTimeout extends Error {
  constructor(readonly budgetMs: number) {
    super(`the regular expression used up its ${budgetMs} ms budget`);
    this.name = 'RegexTimeout';
  }
}

/** Matches one pattern against the lines of many files, on one worker thread, within one time budget. */
export class RegexLineMatcher {
  private worker?: Worker;
  private spentMs = 0;
  private nextId = 0;

  constructor(
    private readonly pattern: string,
    private readonly budgetMs: number,
    private readonly signal: AbortSignal,
    private readonly maxLineChars = 300,
  ) {}

  async matchLines(bytes: Uint8Array, maxMatches: number): Promise<RegexJobResult['matches']> {
    const worker = (this.worker ??= this.startWorker());
    const id = ++this.nextId;
    const startedAt = performance.now();
    try {
      return await new Promise<RegexJobResult['matches']>((resolve, reject) => {
        const settle = (outcome: () => void) => {
          clearTimeout(timer);
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          this.signal.removeEventListener('abort', onAbort);
          outcome();
        };
        const onMessage = (result: RegexJobResult) => result.id === id && settle(() => resolve(result.matches));
        const onError = (error: Error) => settle(() => reject(error));
        const onExit = (code: number) => settle(() => reject(new Error(`the regular expression thread stopped (exit code ${code})`)));
        const onAbort = () => settle(() => reject(this.signal.reason));
        const timer = setTimeout(() => settle(() => reject(new RegexTimeout(this.budgetMs))), Math.max(0, this.budgetMs - this.spentMs));
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
        if (this.signal.aborted) return onAbort();
        this.signal.addEventListener('abort', onAbort, { once: true });
        worker.postMessage({ id, bytes, maxMatches } satisfies RegexJob);
      });
    } catch (error) {
      this.close();
      throw error;
    } finally {
      this.spentMs += performance.now() - startedAt;
    }
  }

  /**
   * Stops the thread. Not awaited: a thread inside one long RE2 call stops only when that call
   * returns, and the tool's answer need not wait for it.
   */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./regex-worker.mjs', import.meta.url), {
      workerData: { pattern: this.pattern, maxLineChars: this.maxLineChars } satisfies RegexWorkerData,
      // Plain JavaScript: the process's loader flags (tsx) would only slow the thread's start.
      execArgv: [],
    });
    // An idle matcher must never keep the process alive.
    worker.unref();
    return worker;
  }
}
