// How many calls to one backend may run at once, learned from how the calls go: AIMD on a
// concurrency window, in the spirit of Netflix's concurrency-limits. A drop (429/503, a timeout)
// or latency that grows with concurrency cuts the limit by backoffRatio; a healthy call grows it,
// by one below the last cut (slow start), by 1/limit above it (about one per round trip). Pure: no
// clock, no timers; the caller passes each call's start, duration and the calls then in flight.
// Why this design and these parameters: docs/architecture.md, "Adaptive tool concurrency".

export interface LimitOptions {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** The limit is multiplied by this on a drop or congestion (at most once per round trip). */
  backoffRatio: number;
  /** Congested when calls at twice the concurrency take more than this many times as long. */
  latencyTolerance: number;
  /** ...and by more than this many standard errors (noise is not congestion). */
  significance: number;
  /** Weight of a new call in its concurrency level's average latency (about 2/weight - 1 calls). */
  smoothing: number;
  /** Calls a level needs before its latency is compared. */
  minSamples: number;
  /** Successful calls between two congestion checks. */
  checkEvery: number;
  /** A level without a call among the key's last this many is too old to compare against. */
  staleAfter: number;
}

export const defaultLimitOptions: LimitOptions = {
  initialLimit: 16,
  minLimit: 1,
  maxLimit: 64,
  backoffRatio: 0.7,
  latencyTolerance: 1.5,
  significance: 2,
  smoothing: 0.1,
  minSamples: 5,
  checkEvery: 10,
  staleAfter: 200,
};

/** success: feeds latency; drop: overload; ignore: says nothing about load (bad input, a cancel). */
export type SampleOutcome = 'success' | 'drop' | 'ignore';

export interface LimitSample {
  outcome: SampleOutcome;
  /** When the call got its permit, in ms on the caller's monotonic clock. */
  startedAt: number;
  rttMs: number;
  /** Calls in flight when it started, itself included. */
  inFlight: number;
}

/** Latency of calls that started with 2^level to 2^(level+1) - 1 calls in flight. */
class Level {
  mean = 0;
  variance = 0;
  count = 0;
  /** Calls admitted since the last cut: only they can say the current limit is too high. */
  fresh = 0;
  /** The key's success count at this level's last call. */
  lastSeen = 0;

  add(value: number, smoothing: number, seen: number): void {
    this.count++;
    this.lastSeen = seen;
    const weight = Math.max(smoothing, 1 / this.count);
    const delta = value - this.mean;
    this.mean += weight * delta;
    this.variance = (1 - weight) * (this.variance + weight * delta * delta);
  }
}

const levelOf = (inFlight: number) => Math.floor(Math.log2(Math.max(1, inFlight)));

export class AimdLimit {
  readonly options: LimitOptions;
  private window: number;
  /** Slow start below this; set to the limit at each cut. */
  private threshold: number;
  /** A call that started before the last cut was admitted under the old limit: it cannot cut again. */
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private readonly levels: Level[] = [];
  private sinceCheck = 0;
  private successes = 0;
  cuts = 0;

  constructor(options: Partial<LimitOptions> = {}) {
    const merged = { ...defaultLimitOptions, ...options };
    if (!(merged.minLimit >= 1 && merged.minLimit <= merged.maxLimit)) throw new RangeError('limits: need 1 <= minLimit <= maxLimit');
    if (!(merged.backoffRatio > 0 && merged.backoffRatio < 1)) throw new RangeError('backoffRatio must be between 0 and 1');
    if (!(merged.smoothing > 0 && merged.smoothing <= 1)) throw new RangeError('smoothing must be in (0, 1]');
    this.options = merged;
    this.window = Math.min(merged.maxLimit, Math.max(merged.minLimit, merged.initialLimit));
    this.threshold = merged.maxLimit;
  }

  /** Calls that may run at once now. */
  get limit(): number {
    return Math.max(this.options.minLimit, Math.floor(this.window));
  }

  /** Average latency by calls in flight (levels with calls only). */
  get latency(): Array<{ inFlight: string; meanMs: number; calls: number }> {
    return this.levels.flatMap((level, index) => (level && level.count > 0 ? [{ inFlight: index === 0 ? '1' : `${2 ** index}-${2 ** (index + 1) - 1}`, meanMs: level.mean, calls: level.count }] : []));
  }

  update(sample: LimitSample): number {
    if (sample.outcome === 'ignore') return this.limit;
    const stale = sample.startedAt < this.lastCutAt;
    if (sample.outcome === 'drop') {
      if (!stale) this.cut(sample);
      return this.limit;
    }
    // Stale calls still say how latency relates to concurrency; they just cannot judge the new limit.
    const index = levelOf(sample.inFlight);
    const level = this.level(index);
    level.add(sample.rttMs, this.options.smoothing, ++this.successes);
    if (!stale) level.fresh++;
    // Grow only when the limit is in use (an idle key learns nothing about a higher one), and not
    // on a call whose own level already shows congestion.
    if (!stale && sample.inFlight * 2 >= this.limit && !this.congested(index)) {
      this.window = Math.min(this.options.maxLimit, this.window + (this.window < this.threshold ? 1 : 1 / this.window));
    }
    if (++this.sinceCheck >= this.options.checkEvery) {
      this.sinceCheck = 0;
      if (this.congested(levelOf(this.limit))) this.cut(sample);
    }
    return this.limit;
  }

  /**
   * Calls at this level (since the last cut) against calls at half the concurrency: by Little's
   * law, doubling concurrency at more than 1.5 times the latency buys under a third more
   * throughput, so the backend is past its knee. Both are measured the same way, so a tool whose
   * latency follows its arguments, or a backend slower for good, does not read as congested (an
   * old measurement of the lower level is not compared: the backend may have changed since).
   */
  private congested(index: number): boolean {
    if (index < 1) return false;
    const high = this.level(index);
    const low = this.level(index - 1);
    const { minSamples, latencyTolerance, significance, smoothing, staleAfter } = this.options;
    if (high.fresh < minSamples || low.count < minSamples || this.successes - low.lastSeen > staleAfter) return false;
    const standardError = (level: Level) => Math.sqrt((level.variance * smoothing) / (2 - smoothing));
    return high.mean > latencyTolerance * low.mean && high.mean - low.mean > significance * Math.hypot(standardError(high), standardError(low));
  }

  private level(index: number): Level {
    return (this.levels[index] ??= new Level());
  }

  private cut(sample: LimitSample): void {
    this.window = Math.max(this.options.minLimit, Math.min(this.window - 1, this.window * this.options.backoffRatio));
    this.threshold = this.window;
    this.lastCutAt = sample.startedAt + sample.rttMs;
    this.cuts++;
    for (const level of this.levels) if (level) level.fresh = 0;
  }
}
