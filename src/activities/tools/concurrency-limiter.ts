import { performance } from 'node:perf_hooks';
import { AimdLimit, defaultLimitOptions, type LimitOptions, type SampleOutcome } from './concurrency-limit';

// A limit per key (a tool's name, or `http_get:<host>`), in one worker process: calls past it wait
// in order, and each call's outcome teaches the key's limit (concurrency-limit.ts). Keys come from
// what models ask for (any host), so the map is bounded: a key idle for a while is forgotten,
// which also lets a backend that recovered start afresh.

export interface ToolConcurrencyOptions {
  /** TOOL_ADAPTIVE_CONCURRENCY: true (default): limits adapt up to maxPerKey; false: every key is capped at maxPerKey, fixed. */
  adaptive?: boolean;
  /** TOOL_MAX_CONCURRENCY_PER_KEY (default 64). */
  maxPerKey?: number;
  /** The algorithm's other parameters (tests and benchmarks). */
  limit?: Partial<Omit<LimitOptions, 'maxLimit'>>;
  /** Idle keys are forgotten after this long (default 5 minutes). */
  idleResetMs?: number;
  /** Idle keys kept at most (default 1000); the longest idle go first. */
  maxKeys?: number;
}

export interface ConcurrencySnapshot {
  key: string;
  adaptive: boolean;
  limit: number;
  inFlight: number;
  waiting: number;
  successes: number;
  drops: number;
  /** Times the limit was cut (by a drop or a rise in latency). */
  cuts: number;
  /** Average latency of successful calls by calls in flight when they started. */
  latency: Array<{ inFlight: string; meanMs: number; calls: number }>;
}

export interface Permit {
  readonly key: string;
  /** Ends the call: its outcome and duration teach the key's limit. Later calls are ignored. */
  release(outcome: SampleOutcome): void;
}

interface Waiter {
  grant(): void;
}

class KeyGate {
  inFlight = 0;
  successes = 0;
  drops = 0;
  idleSince = performance.now();
  readonly waiters: Waiter[] = [];
  constructor(readonly limit: AimdLimit) {}

  get idle(): boolean {
    return this.inFlight === 0 && this.waiters.length === 0;
  }
}

export class ToolConcurrency {
  readonly adaptive: boolean;
  private readonly limitOptions: Partial<LimitOptions>;
  private readonly idleResetMs: number;
  private readonly maxKeys: number;
  private readonly gates = new Map<string, KeyGate>();

  constructor(options: ToolConcurrencyOptions = {}) {
    this.adaptive = options.adaptive ?? true;
    const max = options.maxPerKey ?? defaultLimitOptions.maxLimit;
    const initial = Math.min(max, options.limit?.initialLimit ?? defaultLimitOptions.initialLimit);
    // Fixed: a limit that can neither grow nor shrink.
    this.limitOptions = this.adaptive ? { ...options.limit, initialLimit: initial, maxLimit: max } : { initialLimit: max, minLimit: max, maxLimit: max };
    new AimdLimit(this.limitOptions); // fails now, at start, on bad settings
    this.idleResetMs = options.idleResetMs ?? 5 * 60_000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /** A permit for `key`, at once or in turn; rejects with the signal's reason if it aborts first. */
  acquire(key: string, signal?: AbortSignal): Promise<Permit> {
    const gate = this.gate(key);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const grant = () => {
        signal?.removeEventListener('abort', abort);
        resolve(this.start(key, gate));
      };
      const waiter: Waiter = { grant };
      const abort = () => {
        const index = gate.waiters.indexOf(waiter);
        if (index >= 0) gate.waiters.splice(index, 1);
        if (gate.idle) gate.idleSince = performance.now();
        reject(signal!.reason);
      };
      gate.waiters.push(waiter);
      signal?.addEventListener('abort', abort, { once: true });
      this.admit(gate);
    });
  }

  /** One key's state now, or undefined when it has none (never used, or forgotten). */
  state(key: string): ConcurrencySnapshot | undefined {
    const gate = this.gates.get(key);
    if (!gate) return undefined;
    return {
      key,
      adaptive: this.adaptive,
      limit: gate.limit.limit,
      inFlight: gate.inFlight,
      waiting: gate.waiters.length,
      successes: gate.successes,
      drops: gate.drops,
      cuts: gate.limit.cuts,
      latency: gate.limit.latency.map((level) => ({ ...level, meanMs: Math.round(level.meanMs) })),
    };
  }

  /** Every key this worker knows now (for `GET /v1/tools` and diagnostics). */
  snapshot(): ConcurrencySnapshot[] {
    return [...this.gates.keys()].map((key) => this.state(key)!);
  }

  private gate(key: string): KeyGate {
    const now = performance.now();
    let gate = this.gates.get(key);
    if (gate && gate.idle && now - gate.idleSince > this.idleResetMs) gate = undefined;
    // Re-inserted on every use, so the map's order is least recently used first.
    this.gates.delete(key);
    gate ??= new KeyGate(new AimdLimit(this.limitOptions));
    this.gates.set(key, gate);
    for (const [other, candidate] of this.gates) {
      if (this.gates.size <= this.maxKeys) break;
      if (candidate.idle && other !== key) this.gates.delete(other);
    }
    return gate;
  }

  private admit(gate: KeyGate): void {
    while (gate.waiters.length > 0 && gate.inFlight < gate.limit.limit) gate.waiters.shift()!.grant();
  }

  private start(key: string, gate: KeyGate): Permit {
    gate.inFlight++;
    const inFlight = gate.inFlight;
    const startedAt = performance.now();
    let released = false;
    return {
      key,
      release: (outcome) => {
        if (released) return;
        released = true;
        gate.inFlight--;
        if (outcome === 'success') gate.successes++;
        if (outcome === 'drop') gate.drops++;
        const now = performance.now();
        gate.limit.update({ outcome, startedAt, rttMs: now - startedAt, inFlight });
        if (gate.idle) gate.idleSince = now;
        this.admit(gate);
      },
    };
  }
}
