import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AimdLimit, type LimitOptions, type LimitSample } from '../src/activities/tools/concurrency-limit';

// The limit algorithm alone (pure: each call's start, duration and in-flight count are given),
// then against simulated backends in virtual time.

const call = (outcome: LimitSample['outcome'], startedAt: number, rttMs: number, inFlight: number): LimitSample => ({ outcome, startedAt, rttMs, inFlight });

describe('AIMD limit', () => {
  test('when calls succeed with the limit in use, then it grows by one per call up to maxLimit and no further', () => {
    const limit = new AimdLimit({ initialLimit: 4, maxLimit: 10 });
    const seen = [];
    for (let i = 0; i < 10; i++) seen.push(limit.update(call('success', i * 100, 100, limit.limit)));
    assert.deepEqual(seen, [5, 6, 7, 8, 9, 10, 10, 10, 10, 10]);
  });

  test('when fewer than half of the permits are used, then it does not grow: an idle key learns nothing', () => {
    const limit = new AimdLimit({ initialLimit: 16 });
    for (let i = 0; i < 50; i++) limit.update(call('success', i * 100, 100, 7));
    assert.equal(limit.limit, 16);
  });

  test('when calls are dropped, then the limit is cut by the backoff ratio, never below minLimit', () => {
    const limit = new AimdLimit({ initialLimit: 20, minLimit: 3, backoffRatio: 0.5 });
    // Each drop comes from a call started after the previous cut.
    const seen = [0, 1, 2, 3, 4].map((i) => limit.update(call('drop', i * 100, 10, 20)));
    assert.deepEqual(seen, [10, 5, 3, 3, 3]);
    assert.equal(limit.cuts, 5);
  });

  test('when a burst of calls admitted together is dropped, then the limit is cut once: they reflect the same overload', () => {
    const limit = new AimdLimit({ initialLimit: 16, backoffRatio: 0.7 });
    for (let i = 0; i < 12; i++) limit.update(call('drop', 0, 5 + i, 16));
    assert.deepEqual({ limit: limit.limit, cuts: limit.cuts }, { limit: 11, cuts: 1 });
    // A call admitted after that cut and dropped again cuts again.
    limit.update(call('drop', 20, 5, 11));
    assert.equal(limit.limit, 7);
  });

  test('when healthy again after a cut, then it grows back by about one per limit calls (probing), not one per call', () => {
    const limit = new AimdLimit({ initialLimit: 10, backoffRatio: 0.5 });
    limit.update(call('drop', 0, 10, 10));
    assert.equal(limit.limit, 5);
    let calls = 0;
    while (limit.limit < 6) limit.update(call('success', 100 + calls++ * 10, 100, 5));
    assert.ok(calls >= 4 && calls <= 6, `${calls} calls to grow from 5 to 6`);
    while (limit.limit < 10) limit.update(call('success', 100 + calls++ * 10, 100, 10));
    assert.ok(calls > 25, `${calls} calls to grow back from 5 to 10`);
  });

  test('when calls at twice the concurrency take clearly longer (past 1.5 times), then the limit is cut; at 1.3 times it is not', () => {
    for (const [slower, cut] of [[3, true], [1.3, false]] as const) {
      // Held at 8 (calls with 8 in flight) until then.
      const limit = new AimdLimit({ initialLimit: 8, maxLimit: 8 });
      let at = 0;
      // Calls that started with 4 to 7 in flight, then with 8 (the limit).
      for (let i = 0; i < 10; i++) limit.update(call('success', (at += 10), 100 + (i % 2) * 10, 4 + (i % 4)));
      for (let i = 0; i < 20; i++) limit.update(call('success', (at += 10), slower * (100 + (i % 2) * 10), 8));
      assert.equal(limit.cuts > 0, cut, `${slower} times as long: ${limit.cuts} cuts, limit ${limit.limit}`);
    }
  });

  test('when outcomes are ignored (bad input, cancels), then nothing changes', () => {
    const limit = new AimdLimit({ initialLimit: 8 });
    for (let i = 0; i < 20; i++) limit.update(call('ignore', i, 1, 8));
    assert.equal(limit.limit, 8);
    assert.deepEqual(limit.latency, []);
  });

  test('when minLimit equals maxLimit, then the limit is fixed whatever happens', () => {
    const limit = new AimdLimit({ initialLimit: 4, minLimit: 4, maxLimit: 4 });
    limit.update(call('drop', 0, 1, 4));
    limit.update(call('success', 10, 1, 4));
    assert.equal(limit.limit, 4);
  });

  test('when the settings make no sense, then it refuses them', () => {
    assert.throws(() => new AimdLimit({ minLimit: 0 }), RangeError);
    assert.throws(() => new AimdLimit({ minLimit: 10, maxLimit: 5 }), RangeError);
    assert.throws(() => new AimdLimit({ backoffRatio: 1 }), RangeError);
  });
});

interface Backend {
  /** Latency of a call that finds `concurrent` in service (itself included), in `round` (0-based). */
  latency(concurrent: number, round: number): number;
  /** It answers 429 at once past this many. */
  capacity: number;
}

/**
 * Virtual time: `rounds` batches of `calls` calls through a limit (or a fixed one) to a backend; a
 * refused call is retried 1 s later. Per round: its duration, refusals, and the limit after it.
 */
function simulate(backend: Backend, calls: number, rounds: number, fixed?: number, options: Partial<LimitOptions> = {}) {
  const limit = new AimdLimit(options);
  const results: Array<{ ms: number; refused: number; limit: number }> = [];
  let now = 0;
  for (let round = 0; round < rounds; round++) {
    const start = now;
    let serving = 0;
    let refused = 0;
    let done = 0;
    const waiting = Array.from({ length: calls }, () => now);
    const running: Array<LimitSample & { end: number }> = [];
    while (done < calls) {
      waiting.sort((a, b) => a - b);
      while (waiting.length > 0 && waiting[0]! <= now && running.length < (fixed ?? limit.limit)) {
        waiting.shift();
        const accepted = serving < backend.capacity;
        if (accepted) serving++;
        else refused++;
        const rttMs = accepted ? backend.latency(serving, round) : 1;
        running.push({ outcome: accepted ? 'success' : 'drop', startedAt: now, rttMs, inFlight: running.length + 1, end: now + rttMs });
      }
      running.sort((a, b) => a.end - b.end);
      const next = running[0];
      if (!next || (waiting.length > 0 && running.length < (fixed ?? limit.limit) && waiting[0]! < next.end)) {
        now = waiting[0]!;
        continue;
      }
      running.shift();
      now = next.end;
      if (!fixed) limit.update(next);
      if (next.outcome === 'success') (serving--, done++);
      else waiting.push(now + 1000);
    }
    results.push({ ms: now - start, refused, limit: limit.limit });
    now += 1000;
  }
  return { results, cuts: limit.cuts };
}

/** Deterministic exponentially distributed values (a standard deviation as large as the mean). */
function exponential(mean: number, seed = 7) {
  return () => -mean * Math.log(1 - (seed = (seed * 48271) % 2147483647) / 2147483647);
}

describe('AIMD limit against simulated backends', () => {
  test('when the backend takes 6 at once and refuses more, then the limit settles near 6 and refusals become rare', () => {
    const { results } = simulate({ latency: () => 100, capacity: 6 }, 200, 2);
    const last = results.at(-1)!;
    assert.ok(last.limit >= 3 && last.limit <= 8, `final limit ${last.limit}`);
    assert.ok(last.refused <= 200 * 0.15, `${last.refused} refusals in the second 200 calls`);
    assert.ok(last.ms < ((200 / 6) * 100) * 1.5, `${last.ms} ms, against ${((200 / 6) * 100).toFixed(0)} at exactly 6`);
  });

  test('when latency grows steeply past 8 at once, then once warm the limit keeps it near 8 and beats 16 at once', () => {
    const knee = { latency: (concurrent: number) => 100 * (1 + Math.max(0, (concurrent - 8) / 4) ** 2), capacity: 24 };
    const adaptive = simulate(knee, 200, 3).results.at(-1)!;
    const fixed = (limit: number) => simulate(knee, 200, 1, limit).results[0]!.ms;
    assert.ok(adaptive.limit >= 6 && adaptive.limit <= 13, `limit ${adaptive.limit}`);
    assert.ok(adaptive.ms < fixed(16) * 0.7, `adaptive ${adaptive.ms} ms, fixed 16 ${fixed(16)} ms`);
    assert.ok(adaptive.ms < fixed(8) * 1.3, `adaptive ${adaptive.ms} ms, fixed 8 (the knee) ${fixed(8)} ms`);
  });

  test('when latency is spread out but does not depend on concurrency, then the limit is not held down below its start', () => {
    const noisy = exponential(100);
    const { results } = simulate({ latency: () => noisy(), capacity: 10_000 }, 400, 3);
    assert.ok(results.every((round) => round.limit > 16), results.map((round) => round.limit).join(', '));
  });

  test('when the backend becomes three times slower for good, at every concurrency, then that is not read as congestion', () => {
    const { results, cuts } = simulate({ latency: (_concurrent, round) => (round >= 2 ? 300 : 100), capacity: 10_000 }, 200, 5);
    assert.equal(cuts, 0);
    assert.equal(results.at(-1)!.limit, 64);
  });
});
