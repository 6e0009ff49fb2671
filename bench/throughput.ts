import OpenAI from 'openai';
import { textFrames } from '../src/demo-model/chunks';
import { startSubscribers, tokenEnds } from './fanout';
import { startBenchStack, type BenchTemporal } from './harness';

// Throughput: a model that streams as fast as it can; tokens per second delivered to one SSE
// client and to ten, against the same model read directly.

export interface ThroughputResult {
  tokens: number;
  directPerSecond: number;
  rows: Array<{ subscribers: number; perSecond: number; complete: number }>;
}

const perSecond = (tokens: number, arrivals: number[]) => (tokens - 1) / ((arrivals.at(-1)! - arrivals[0]!) / 1000);

export async function throughputScenario(temporal: BenchTemporal, tokens = 5000, counts = [1, 10]): Promise<ThroughputResult> {
  const text = Array.from({ length: tokens }, (_, index) => `x${index}`).join(' ');
  const ends = tokenEnds(text);
  const bench = await startBenchStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: request.stream ? 1000 : 0, tokenDelayMs: 0 }) }), 'bench-throughput');
  try {
    const openai = new OpenAI({ baseURL: bench.model.baseURL, apiKey: 'unused', maxRetries: 0 });
    const directArrivals: number[] = [];
    let received = '';
    const stream = await openai.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: 'direct' }], stream: true });
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (!delta) continue;
      received += delta;
      while (directArrivals.length < ends.length && ends[directArrivals.length]! <= received.length) directArrivals.push(performance.timeOrigin + performance.now());
    }
    const rows: ThroughputResult['rows'] = [];
    for (const subscribers of counts) {
      const client = await startSubscribers(subscribers, ends);
      const created = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: `throughput ${subscribers}`, tools: [] }) });
      client.add(`${bench.stack.url}/v1/runs/${((await created.json()) as { runId: string }).runId}/events`);
      const result = await client.finish();
      const rates = result.arrivals.filter((arrivals) => arrivals.length === tokens).map((arrivals) => perSecond(tokens, arrivals));
      rows.push({ subscribers, perSecond: rates.reduce((sum, rate) => sum + rate, 0) / Math.max(1, rates.length), complete: result.texts.filter((got) => got === text).length });
      console.log(`throughput ${subscribers}: ${rows.at(-1)!.perSecond.toFixed(0)} tokens/s per subscriber, ${rows.at(-1)!.complete} complete`);
    }
    return { tokens, directPerSecond: perSecond(tokens, directArrivals), rows };
  } finally {
    await bench.close();
  }
}

export function throughputSection(result: ThroughputResult): string {
  const table = result.rows.map((row) => `| ${row.subscribers} | ${row.perSecond.toFixed(0)} | ${(row.perSecond / result.directPerSecond).toFixed(2)} | ${row.complete} / ${row.subscribers} |`).join('\n');
  return `## Throughput

A model that streams ${result.tokens} tokens as fast as it can. Tokens per second from the first to
the last token, per SSE subscriber (in a separate process), against the same model read directly
(${result.directPerSecond.toFixed(0)} tokens/s).

| subscribers | tokens/s each | ratio to direct | got the whole text |
| --- | --- | --- | --- |
${table}
`;
}
