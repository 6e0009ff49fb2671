// Percentiles and a small summary, shared by the benchmarks.

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(values: number[]): Summary {
  // Sorted once; no spreading (hundreds of thousands of values overflow the call stack).
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => {
    if (sorted.length === 0) return Number.NaN;
    const rank = (p / 100) * (sorted.length - 1);
    const low = Math.floor(rank);
    const high = Math.ceil(rank);
    return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
  };
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    n: sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sum / sorted.length,
  };
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * A 95% interval for the median (percentile bootstrap, 2000 resamples, a fixed seed so that a
 * result file always gives the same interval): how far the median of a noisy sample can be trusted.
 */
export function medianInterval(values: number[], resamples = 2000): { low: number; high: number } {
  if (values.length === 0) return { low: Number.NaN, high: Number.NaN };
  let seed = 0x9e3779b9;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const sample = new Float64Array(values.length);
  const medians: number[] = [];
  for (let round = 0; round < resamples; round++) {
    for (let index = 0; index < values.length; index++) sample[index] = values[Math.floor(random() * values.length)]!;
    sample.sort();
    const middle = (sample.length - 1) / 2;
    medians.push((sample[Math.floor(middle)]! + sample[Math.ceil(middle)]!) / 2);
  }
  return { low: percentile(medians, 2.5), high: percentile(medians, 97.5) };
}
