import type { LiveRelay } from '../relay/live-relay';
import type { RunState } from '../shared/run-types';
import type { RunStore } from './run-store';
import type { RunStreamSources } from './run-stream';

// Durable reads shared by all the SSE connections of one API process: a thousand subscribers of
// one run cost one query at a time and one long poll on its result, not a thousand.

export class SharedRunSources implements RunStreamSources {
  private readonly states = new Map<string, { promise: Promise<RunState & { executionId: string }>; settledAt?: number }>();
  private readonly closes = new Map<string, { promise: Promise<void>; users: number; stop: AbortController }>();

  /** @param maxAgeMs how long a state read may be reused by other connections. */
  constructor(
    private readonly store: RunStore,
    readonly relay: LiveRelay,
    private readonly maxAgeMs = 25,
  ) {}

  getState(runId: string, options: { fresh?: boolean } = {}): Promise<RunState & { executionId: string }> {
    const cached = this.states.get(runId);
    if (!options.fresh && cached && (cached.settledAt === undefined || Date.now() - cached.settledAt <= this.maxAgeMs)) return cached.promise;
    const entry: { promise: Promise<RunState & { executionId: string }>; settledAt?: number } = { promise: this.store.getState(runId) };
    this.states.set(runId, entry);
    entry.promise.then(
      () => {
        entry.settledAt = Date.now();
        setTimeout(() => this.states.get(runId) === entry && this.states.delete(runId), this.maxAgeMs + 1).unref();
      },
      () => this.states.get(runId) === entry && this.states.delete(runId),
    );
    return entry.promise;
  }

  waitForClose(runId: string, signal: AbortSignal): Promise<void> {
    let shared = this.closes.get(runId);
    if (!shared) {
      const stop = new AbortController();
      const created = { promise: this.store.waitForClose(runId, stop.signal), users: 0, stop };
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
