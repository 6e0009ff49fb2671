import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { textFrames, tokenize } from '../src/demo-model/chunks';
import { startBenchStack, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// Fan-out: one run, 1 to 1,000 SSE subscribers (in a separate process). Delivered token latency
// (arrival minus the model's write time), whether every subscriber got the whole text, and the
// CPU the stack's process (worker + API) used while the run streamed.

export interface FanoutRow {
  subscribers: number;
  complete: number;
  tokenLatency: Summary;
  cpuMs: number;
  cpuPerSubscriberMs: number;
}

export interface SubscriberResult {
  arrivals: number[][];
  texts: string[];
}

/**
 * Starts bench/subscribers.ts in a process of its own and waits until it is ready; `add` gives it
 * URLs, `finish` waits for every stream to end and returns what each subscriber saw.
 */
export async function startSubscribers(perUrl: number, ends: number[]): Promise<{ add(url: string): void; finish(): Promise<SubscriberResult> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'subscribers.ts')], {
    env: { ...process.env, URLS: '', SUBSCRIBERS: String(perUrl), TOKEN_ENDS: ends.join(',') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('ready')) resolve();
    });
  });
  return {
    add: (url) => child.stdin!.write(`${url}\n`),
    async finish() {
      child.stdin!.end();
      await exited;
      return JSON.parse(output.split('\n').find((line) => line.startsWith('{'))!) as SubscriberResult;
    },
  };
}

export function tokenEnds(text: string): number[] {
  const ends: number[] = [];
  let offset = 0;
  for (const token of tokenize(text)) ends.push((offset += token.length));
  return ends;
}

export async function fanoutScenario(temporal: BenchTemporal, counts = [1, 10, 100, 1000], tokens = 200): Promise<FanoutRow[]> {
  const text = Array.from({ length: tokens }, (_, index) => `f${index}`).join(' ');
  const ends = tokenEnds(text);
  // The model waits a second before its first token, so that every subscriber is connected.
  const bench = await startBenchStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 1500, tokenDelayMs: 10 }) }), 'bench-fanout');
  const rows: FanoutRow[] = [];
  try {
    for (const subscribers of counts) {
      const created = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `fanout ${subscribers}`, tools: [] }) });
      const { runId } = (await created.json()) as { runId: string };
      const cpuBefore = process.cpuUsage();
      const client = await startSubscribers(subscribers, ends);
      client.add(`${bench.stack.url}/v1/runs/${runId}/events`);
      const result = await client.finish();
      const cpu = process.cpuUsage(cpuBefore);
      const request = bench.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === `fanout ${subscribers}`))!;
      const written = request.chunkTimes.slice(1, tokens + 1);
      const latencies = result.arrivals.flatMap((arrivals) => arrivals.map((arrival, index) => arrival - written[index]!));
      const cpuMs = (cpu.user + cpu.system) / 1000;
      rows.push({
        subscribers,
        complete: result.texts.filter((received) => received === text).length,
        tokenLatency: summarize(latencies),
        cpuMs,
        cpuPerSubscriberMs: cpuMs / subscribers,
      });
      console.log(`fanout ${subscribers}: ${rows.at(-1)!.complete} complete, token latency p50 ${rows.at(-1)!.tokenLatency.p50.toFixed(2)} ms p99 ${rows.at(-1)!.tokenLatency.p99.toFixed(2)} ms, CPU ${cpuMs.toFixed(0)} ms`);
    }
  } finally {
    await bench.close();
  }
  return rows;
}

export function fanoutSection(rows: FanoutRow[], tokens = 200): string {
  const table = rows
    .map((row) => `| ${row.subscribers} | ${row.complete} / ${row.subscribers} | ${ms(row.tokenLatency.p50)} | ${ms(row.tokenLatency.p99)} | ${ms(row.tokenLatency.max)} | ${row.cpuMs.toFixed(0)} ms | ${row.cpuPerSubscriberMs.toFixed(2)} ms |`)
    .join('\n');
  return `## Fan-out

One run streaming ${tokens} tokens (one every 10 ms) to N SSE subscribers, all connected before
the first token; the subscribers run in a separate process. Token latency is each token's arrival
at each subscriber minus the model's write time. CPU is the stack's process (worker and API
together) while the run streamed.

| subscribers | got the whole text | token latency p50 | p99 | max | CPU | CPU per subscriber |
| --- | --- | --- | --- | --- | --- | --- |
${table}
`;
}
