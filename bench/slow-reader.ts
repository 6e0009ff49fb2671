import { formatEvent } from '../src/api/sse';
import { textFrames, tokenize } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { viaUnixSocket } from '../test/helpers/slow-reader';
import { startSubscribers, tokenEnds } from './fanout';
import { startBenchStack, type BenchStack, type BenchTemporal } from './harness';
import { collectGarbage, sampleBuffered, startSlowReader } from './slow-reader-probes';
import { ms, summarize, type Summary } from './stats';

// Adaptive buffering: 100 fast SSE readers of one run, alone, then with one reader that reads at
// 10 KB/s, then (full mode) with that reader and merging off (the writer before it). The slow
// reader comes in through a Unix socket into the same HTTP server: over loopback TCP the kernel
// would take up to 4 MB of its backlog before Node saw any (test/helpers/slow-reader.ts). Memory
// is the API's: Node's buffer for the slow connection (sampled every 25 ms) and the heap.

const fastReaders = 100;
const slowBytesPerSecond = 10_000;
const tokenDelayMs = 4;

export interface SlowReaderRow {
  label: string;
  streamedMs: number;
  fastComplete: number;
  tokenLatency: Summary;
  /** Node's buffered bytes for the slow connection, the largest in each quarter of its stream. */
  buffered: number[];
  /** The API process's heap growth over the run, between full collections (before it; once it and the fast readers are done). */
  heapGrowth: number;
  slow?: { complete: boolean; textShare: number; deltaFrames: number; bytes: number; behindMs: number; stopped: boolean };
}

export interface SlowReaderResult {
  tokens: number;
  /** The SSE bytes of one frame per delta, and over how long the model streamed them. */
  framedBytes: number;
  streamedMs: number;
  rows: SlowReaderRow[];
  p50Ratio: number;
  p99Ratio: number;
}

async function measure(bench: BenchStack, label: string, text: string, slowMode: 'none' | 'read' | 'stop'): Promise<SlowReaderRow> {
  const input = `slow-reader ${label}`;
  const created = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  const { runId } = (await created.json()) as { runId: string };
  const unix = await viaUnixSocket(bench.stack.server);
  const ends = tokenEnds(text);
  const url = `${bench.stack.url}/v1/runs/${runId}/events`;
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  const sampler = sampleBuffered(unix);
  const fast = await startSubscribers(fastReaders, ends);
  const slow = slowMode === 'none' ? undefined : await startSlowReader(url, unix.socketPath, slowBytesPerSecond);
  fast.add(url);
  const result = await fast.finish();
  // The run has ended and the fast readers are done; what the API still holds is the slow one's.
  collectGarbage();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  // Merging off: the slow reader would take minutes; it stops a second after the fast ones.
  if (slowMode === 'stop') setTimeout(() => slow?.stop(), 1000);
  const outcome = await slow?.outcome;
  const buffered = sampler.stop();
  await unix.close();
  const request = bench.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === input))!;
  const written = request.chunkTimes.slice(1, ends.length + 1);
  const latencies = result.arrivals.flatMap((arrivals) => arrivals.map((arrival, index) => arrival - written[index]!));
  const row: SlowReaderRow = {
    label,
    streamedMs: written.at(-1)! - written[0]!,
    fastComplete: result.texts.filter((received) => received === text).length,
    tokenLatency: summarize(latencies),
    buffered,
    heapGrowth,
    ...(outcome
      ? { slow: { complete: outcome.text === text, textShare: outcome.text.length / text.length, deltaFrames: outcome.deltaFrames, bytes: outcome.bytes, behindMs: outcome.lastTextAt - Math.max(...result.arrivals.map((arrivals) => arrivals.at(-1)!)), stopped: slowMode === 'stop' } }
      : {}),
  };
  const slowSays = row.slow ? `; slow reader: ${row.slow.complete ? 'whole text' : 'partial text'} in ${row.slow.deltaFrames} delta frames, its last delta ${(row.slow.behindMs / 1000).toFixed(1)} s after the fast readers', Node buffered max ${(Math.max(...row.buffered) / 1024).toFixed(1)} KB` : '';
  console.log(`slow-reader ${label}: ${row.fastComplete}/${fastReaders} fast complete, token latency p50 ${row.tokenLatency.p50.toFixed(2)} ms p99 ${row.tokenLatency.p99.toFixed(2)} ms${slowSays}`);
  return row;
}

/** `withoutMerging`: also the run with merging off (the code before it), for its memory. */
export async function slowReaderScenario(temporal: BenchTemporal, tokens = 2000, withoutMerging = false): Promise<SlowReaderResult> {
  const text = Array.from({ length: tokens }, (_, index) => `s${index}`).join(' ');
  // The model waits before its first token, so that every reader is connected.
  const warmUpText = text.slice(0, text.indexOf(' s200 '));
  const responder: Responder = (request) => {
    const answer = request.messages.at(-1)?.content?.includes('warm-up') ? warmUpText : text;
    return { kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 1000, tokenDelayMs }) };
  };
  const rows: SlowReaderRow[] = [];
  for (const merging of withoutMerging ? [true, false] : [true]) {
    const bench = await startBenchStack(temporal, responder, `bench-slow-reader-${merging ? 'on' : 'off'}`, merging ? {} : { stream: { coalesce: false } });
    try {
      // A first run on a fresh stack is slower (the worker's caches, the JIT): not measured.
      await measure(bench, 'warm-up', warmUpText, 'none');
      if (merging) {
        rows.push(await measure(bench, 'fast readers only', text, 'none'));
        rows.push(await measure(bench, 'with a slow reader', text, 'read'));
      } else rows.push(await measure(bench, 'with a slow reader, merging off', text, 'stop'));
    } finally {
      await bench.close();
    }
  }
  const [alone, withSlow] = rows;
  let offset = 0;
  const framedBytes = tokenize(text).reduce((sum, delta) => sum + formatEvent({ event: 'text.delta', id: `1.1.${(offset += delta.length)}`, data: { runId: `run_${crypto.randomUUID()}`, step: 1, attempt: 1, delta } }).length, 0);
  return { tokens, framedBytes, streamedMs: alone!.streamedMs, rows, p50Ratio: withSlow!.tokenLatency.p50 / alone!.tokenLatency.p50, p99Ratio: withSlow!.tokenLatency.p99 / alone!.tokenLatency.p99 };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const signedKb = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${kb(Math.abs(bytes))}`;

export function slowReaderSection(result: SlowReaderResult): string {
  const table = result.rows
    .map((row) => {
      const slow = row.slow
        ? `${row.slow.stopped ? `stopped 1 s after the fast readers, at ${(row.slow.textShare * 100).toFixed(0)}% of the text` : row.slow.complete ? 'whole text' : '**partial text**'}: ${row.slow.deltaFrames} delta frames for ${result.tokens} deltas, ${kb(row.slow.bytes)}${row.slow.stopped ? '' : `, its last delta ${(row.slow.behindMs / 1000).toFixed(1)} s after the fast readers'`}`
        : '—';
      return `| ${row.label} | ${row.fastComplete} / ${fastReaders} | ${ms(row.tokenLatency.p50)} | ${ms(row.tokenLatency.p99)} | ${slow} | ${row.slow ? row.buffered.map(kb).join(', ') : '—'} | ${signedKb(row.heapGrowth)} |`;
    })
    .join('\n');
  return `## Slow reader

One run streaming ${result.tokens} tokens (one every ${tokenDelayMs} ms) to ${fastReaders} fast SSE readers (a separate
process), alone and with one reader that reads ${slowBytesPerSecond / 1000} KB/s (its own process, through a Unix socket into the
same HTTP server, so that its backlog reaches Node instead of the kernel's 4 MB loopback buffers),
on \`npm start\`'s layout. One frame per delta is ${kb(result.framedBytes)} over ${(result.streamedMs / 1000).toFixed(1)} s, ${(result.framedBytes / result.streamedMs / (slowBytesPerSecond / 1000)).toFixed(1)} times
what that reader takes per second. Node buffered is the API's user-space buffer for the slow
connection, the largest of 25 ms samples in each quarter of its stream. Heap growth is the API
process's (worker and model included) between full garbage collections before the run and once
it and the fast readers are done: it includes the run's own events (the relay keeps them for 30 s
after the step) and varies by megabytes from run to run, more than one reader's buffer, which the
previous column gives.

| readers | fast readers with the whole text | token latency p50 | p99 | slow reader | Node buffered for it, by quarter | heap growth |
| --- | --- | --- | --- | --- | --- | --- |
${table}

With the slow reader present, the fast readers' token latency is ${result.p50Ratio.toFixed(2)}x (p50) and ${result.p99Ratio.toFixed(2)}x (p99)
what it is without it.
`;
}
