// When streamRun connects again: exponential backoff with jitter, capped, from the server's
// `retry:` field as its base (as EventSource waits `retry` ms), never sooner than it.

export interface ReconnectOptions {
  /** The base delay until the server's `retry:` field names one (default 1000 ms). */
  initialDelayMs?: number;
  /** The longest delay between attempts (default 30 000 ms). */
  maxDelayMs?: number;
  /** Failed attempts in a row (no event received) before streamRun throws (default: no limit). */
  maxRetries?: number;
  /**
   * Nothing (no event, no keep-alive comment) for this long: the connection is taken for dead
   * and replaced (default 45 000 ms; the API sends a keep-alive every 15 s).
   */
  idleTimeoutMs?: number;
}

export const reconnectDefaults = { initialDelayMs: 1000, maxDelayMs: 30_000, maxRetries: Number.POSITIVE_INFINITY, idleTimeoutMs: 45_000 } as const;

/**
 * The delay before attempt `failures + 1` after a lost connection: `base` doubled per failure in
 * a row, capped at `maxMs`, then spread over its upper half so that clients cut off together do
 * not come back together; never below `base`.
 */
export function reconnectDelay(baseMs: number, failures: number, maxMs: number, random: () => number = Math.random): number {
  const capped = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
  return Math.max(baseMs, capped * (0.5 + random() * 0.5));
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
