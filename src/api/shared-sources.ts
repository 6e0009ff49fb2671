import type { LiveRelay } from '../relay/live-relay';
import type { RunReader, RunView } from './run-reader';
import type { RunStore } from './run-store';
import type { RunStreamSources } from './run-stream';

// Durable reads shared by all the SSE connections of one API process: a thousand subscribers of
// one run cost one read at a time (per window of steps) and one long poll on its result.

export class SharedRunSources implements RunStreamSources {
  private readonly states = new Map<string, { promise: Promise<RunView>; settledAt?: number }>();
  private readonly closes = new Map<string, { promise: Promise<void>; users: number; stop: AbortController }>();

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
