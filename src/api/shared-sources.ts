import type { LiveRelay } from '../relay/live-relay';
import type { RunReader, RunView } from './run-reader';
import type { RunStore } from './run-store';
import type { RunStreamSources } from './run-stream';
import type { RunState, RunSummary } from '../shared/run-types';

/** How long a completed run's result serves the reads that follow its close. */
const resultAgeMs = 5000;

// Durable reads shared by all the SSE connections of one API process: a thousand subscribers of
// one run cost one read at a time (per window of steps) and one long poll on its result.

export class SharedRunSources implements RunStreamSources {
  private readonly states = new Map<string, { promise: Promise<RunView>; settledAt?: number }>();
  private readonly closes = new Map<string, { promise: Promise<void>; users: number; stop: AbortController }>();
  /** Results of runs that just completed: the reads that follow a close need no other call. */
  private readonly results = new Map<string, RunState | RunSummary>();

  /** @param maxAgeMs how long a state read may be reused by other connections. */
  constructor(
    private readonly store: RunStore,
    private readonly reader: RunReader,
    readonly relay: LiveRelay,
    private readonly maxAgeMs = 25,
  ) {}

  getState(runId: string, options: { fresh?: boolean; fromStep?: number } = {}): Promise<RunView> {
    const fromStep = options.fromStep ?? 1;
    const key = `${runId}@${fromStep}`;
    // A stream's read right after the run completed: from the result its close brought.
    const result = options.fresh ? this.results.get(runId) : undefined;
    const completed = result ? this.reader.fromEnd(result, fromStep) : undefined;
    if (completed) return Promise.resolve(completed);
    const cached = this.states.get(key);
    if (!options.fresh && cached && (cached.settledAt === undefined || Date.now() - cached.settledAt <= this.maxAgeMs)) return cached.promise;
    const entry: { promise: Promise<RunView>; settledAt?: number } = { promise: this.reader.read(runId, { fromStep }) };
    this.states.set(key, entry);
    entry.promise.then(
      () => {
        entry.settledAt = Date.now();
        setTimeout(() => this.states.get(key) === entry && this.states.delete(key), this.maxAgeMs + 1).unref();
      },
      () => this.states.get(key) === entry && this.states.delete(key),
    );
    return entry.promise;
  }

  waitForClose(runId: string, signal: AbortSignal): Promise<void> {
    let shared = this.closes.get(runId);
    if (!shared) {
      const stop = new AbortController();
      const created = {
        promise: this.store.waitForClose(runId, stop.signal).then((result) => {
          if (!result) return;
          this.results.set(runId, result);
          setTimeout(() => this.results.get(runId) === result && this.results.delete(runId), resultAgeMs).unref();
        }),
        users: 0,
        stop,
      };
      this.closes.set(runId, created);
      void created.promise.then(() => this.closes.get(runId) === created && this.closes.delete(runId));
      shared = created;
    }
    const entry = shared;
    entry.users++;
    signal.addEventListener(
      'abort',
      () => {
        if (--entry.users === 0 && this.closes.get(runId) === entry) {
          this.closes.delete(runId);
          entry.stop.abort();
        }
      },
      { once: true },
    );
    return entry.promise;
  }
}
