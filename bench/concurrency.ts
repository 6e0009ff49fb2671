import { textFrames } from '../src/demo-model/chunks';
import { preciseNow } from '../src/demo-model/server';
import { startSubscribers, tokenEnds } from './fanout';
import { startBenchStack, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// Concurrency: 10, 50 and 100 runs at once, each watched by one SSE subscriber (in a separate
// process): how many complete with the whole text, their TTFT and token latency, and the CPU and
// memory of the stack's process (worker and API together).

export interface ConcurrencyRow {
  runs: number;
  complete: number;
  ttft: Summary;
  tokenLatency: Summary;
  cpuMs: number;
  peakRssMiB: number;
}

export async function concurrencyScenario(temporal: BenchTemporal, levels = [10, 50, 100], tokens = 100): Promise<ConcurrencyRow[]> {
  const text = Array.from({ length: tokens }, (_, index) => `c${index}`).join(' ');
  const ends = tokenEnds(text);
  const bench = await startBenchStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 200, tokenDelayMs: 20 }) }), 'bench-concurrency');
  const rows: ConcurrencyRow[] = [];
  try {
    for (const level of levels) {
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
      const client = await startSubscribers(1, ends);
      const cpuBefore = process.cpuUsage();
      const posts = await Promise.all(
        Array.from({ length: level }, async (_, index) => {
          const input = `concurrency ${level} ${index}`;
          const started = preciseNow();
          const response = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
          const runId = ((await response.json()) as { runId: string }).runId;
          return { input, started, runId };
        }),
      );
      // Subscribers in the order of the posts (each connects as soon as its line arrives).
      for (const post of posts) client.add(`${bench.stack.url}/v1/runs/${post.runId}/events`);
      const result = await client.finish();
      const cpu = process.cpuUsage(cpuBefore);
      clearInterval(sampler);
      const ttfts: number[] = [];
      const latencies: number[] = [];
      posts.forEach((post, index) => {
        const arrivals = result.arrivals[index]!;
        const request = bench.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === post.input));
        if (!request || arrivals.length === 0) return;
        ttfts.push(arrivals[0]! - post.started);
        arrivals.forEach((arrival, token) => latencies.push(arrival - request.chunkTimes[token + 1]!));
      });
      rows.push({
        runs: level,
        complete: result.texts.filter((received) => received === text).length,
        ttft: summarize(ttfts),
        tokenLatency: summarize(latencies),
        cpuMs: (cpu.user + cpu.system) / 1000,
        peakRssMiB: peakRss / 2 ** 20,
      });
      const row = rows.at(-1)!;
      console.log(`concurrency ${level}: ${row.complete} complete, TTFT p50 ${row.ttft.p50.toFixed(0)} ms, token latency p50 ${row.tokenLatency.p50.toFixed(2)} ms p99 ${row.tokenLatency.p99.toFixed(2)} ms, CPU ${row.cpuMs.toFixed(0)} ms, RSS ${row.peakRssMiB.toFixed(0)} MiB`);
    }
  } finally {
    await bench.close();
  }
  return rows;
}

export function concurrencySection(rows: ConcurrencyRow[]): string {
  const table = rows
    .map((row) => `| ${row.runs} | ${row.complete} / ${row.runs} | ${ms(row.ttft.p50)} | ${ms(row.ttft.p99)} | ${ms(row.tokenLatency.p50)} | ${ms(row.tokenLatency.p99)} | ${row.cpuMs.toFixed(0)} ms | ${row.peakRssMiB.toFixed(0)} MiB |`)
    .join('\n');
  return `## Concurrency

N runs started at once (each 100 tokens, the first after 200 ms, then one every 20 ms), each
watched by one SSE subscriber in a separate process. CPU and peak memory are the stack's process
(worker and API together; the embedded Temporal is another process). TTFT here includes every
run's workflow start competing with the others.

| concurrent runs | got the whole text | TTFT p50 | TTFT p99 | token latency p50 | p99 | CPU | peak RSS |
| --- | --- | --- | --- | --- | --- | --- | --- |
${table}
`;
}
