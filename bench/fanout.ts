import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { textFrames, tokenize } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { inEachLayout, type BenchTemporal, type Layout, type LayoutTarget } from './harness';
import { ms, summarize, type Summary } from './stats';

// Fan-out: one run, 1 to 1,000 SSE subscribers (in a separate process). Delivered token latency
// (arrival minus the model's write time), whether every subscriber got the whole text, and the
// CPU the stack used while the run streamed: worker and API in one process (npm start), then
// apart (the split deployment), where the API's own CPU shows.

export interface FanoutRow {
  layout: Layout;
  subscribers: number;
  complete: number;
  tokenLatency: Summary;
  processes: Array<{ name: string; cpuMs: number; cpuPerSubscriberMs: number }>;
}

export interface SubscriberResult {
  arrivals: number[][];
  texts: string[];
  /** CPU the subscribers' process used from its first subscription to the end (it shares the cores). */
  cpuMs: number;
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

async function fanoutLevel(target: LayoutTarget, layout: Layout, subscribers: number, text: string, ends: number[], tokens: number): Promise<FanoutRow> {
  const input = `fanout ${layout} ${subscribers}`;
  const created = await fetch(`${target.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  const { runId } = (await created.json()) as { runId: string };
  const cpuBefore = target.meters.map(({ meter }) => meter.cpuMs());
  const client = await startSubscribers(subscribers, ends);
  client.add(`${target.url}/v1/runs/${runId}/events`);
  const result = await client.finish();
  const cpu = target.meters.map(({ meter }, index) => meter.cpuMs() - cpuBefore[index]!);
  const request = target.model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === input))!;
  const written = request.chunkTimes.slice(1, tokens + 1);
  const latencies = result.arrivals.flatMap((arrivals) => arrivals.map((arrival, index) => arrival - written[index]!));
  const row: FanoutRow = {
    layout,
    subscribers,
    complete: result.texts.filter((received) => received === text).length,
    tokenLatency: summarize(latencies),
    processes: [
      ...target.meters.map(({ name }, index) => ({ name, cpuMs: cpu[index]!, cpuPerSubscriberMs: cpu[index]! / subscribers })),
      { name: 'subscribers (client)', cpuMs: result.cpuMs, cpuPerSubscriberMs: result.cpuMs / subscribers },
    ],
  };
  const usage = row.processes.map((entry) => `${entry.name} CPU ${entry.cpuMs.toFixed(0)} ms`).join(', ');
  console.log(`fanout ${layout} ${subscribers}: ${row.complete} complete, token latency p50 ${row.tokenLatency.p50.toFixed(2)} ms p99 ${row.tokenLatency.p99.toFixed(2)} ms, ${usage}`);
  return row;
}

export async function fanoutScenario(temporal: BenchTemporal, counts = [1, 10, 100, 1000], tokens = 200): Promise<FanoutRow[]> {
  const text = Array.from({ length: tokens }, (_, index) => `f${index}`).join(' ');
  const ends = tokenEnds(text);
  // The model waits before its first token, so that every subscriber is connected.
  const responder: Responder = (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 1500, tokenDelayMs: 10 }) });
  const rows: FanoutRow[] = [];
  await inEachLayout(temporal, responder, 'bench-fanout', async (target, layout) => {
    for (const subscribers of counts) rows.push(await fanoutLevel(target, layout, subscribers, text, ends, tokens));
  });
  return rows;
}

export function fanoutSection(rows: FanoutRow[], tokens = 200): string {
  const table = rows
    .map((row) => {
      const usage = row.processes.map((entry) => `${entry.name}: ${entry.cpuMs.toFixed(0)} ms (${entry.cpuPerSubscriberMs.toFixed(2)} ms per subscriber)`).join('<br>');
      return `| ${row.layout} | ${row.subscribers} | ${row.complete} / ${row.subscribers} | ${ms(row.tokenLatency.p50)} | ${ms(row.tokenLatency.p99)} | ${ms(row.tokenLatency.max)} | ${usage} |`;
    })
    .join('\n');
  return `## Fan-out

One run streaming ${tokens} tokens (one every 10 ms) to N SSE subscribers, all connected before
the first token; the subscribers run in a separate process. Token latency is each token's arrival
at each subscriber minus the model's write time. CPU is what each process used while the run
streamed. **one process** is \`npm start\` (worker and API together; in this benchmark that
process also serves the model); **split** is \`npm run api\` and \`npm run worker\` as two
processes, where the API's own CPU shows (its subscribers of a run share one stream from the
worker).

| layout | subscribers | got the whole text | token latency p50 | p99 | max | CPU |
| --- | --- | --- | --- | --- | --- | --- |
${table}
`;
}
