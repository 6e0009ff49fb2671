import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { createParser } from 'eventsource-parser';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { startChild, type Child } from '../test/helpers/processes';
import { startSubscribers, tokenEnds } from './fanout';
import { processMeter, type BenchTemporal } from './harness';
import { medianInterval, ms, summarize, type Summary } from './stats';
import { isRunEnd } from '../src/shared/events';

// What observability costs: `npm start` (worker and API in one process, with API keys) three
// times, side by side against the same Temporal and model: everything off (METRICS=off, no
// traces, LOG_LEVEL=warn); npm start's defaults (metrics, scraped every 15 s as Prometheus
// would, and access and SDK logs at info as JSON); and all on (the defaults and traces to an
// OTLP/HTTP receiver). Time to first token in interleaved triples, then fan-out (one run, many SSE
// subscribers in a process of their own) turn by turn: token latency, and the CPU of the process
// per token. The Temporal Web UI's summaries and current details are always on: every side pays.

export type SideName = 'off' | 'defaults' | 'all' | 'stacks';

export interface ObservabilitySide {
  name: SideName;
  ttft: Summary;
  /** This side minus off, triple by triple (absent for off). */
  addedTtft?: Summary;
  /** A 95% interval for addedTtft's median (bootstrap). */
  addedTtftInterval?: { low: number; high: number };
  fanout: { tokenLatency: Summary; cpuMsPerToken: number; complete: number; runs: number };
}

export interface ObservabilityResult {
  settings: { triples: number; tokens: number; subscribers: number; fanoutRuns: number; tokenDelayMs: number; scrapeIntervalMs: number };
  sides: ObservabilitySide[];
  /** What the "all" side exported while measured; scrapes of both sides with metrics. */
  exported: { traceRequests: number; traceBytes: number; scrapes: number; scrapeBytes: number };
}

/**
 * What each side runs with: off; npm start's defaults (metrics, scraped, and info logs); traces as
 * well; and off but with Temporal's workflow stack traces (WORKFLOW_STACK_TRACES=on, default off).
 */
const sideEnv = (name: SideName, traceUrl: string): Record<string, string> => ({
  METRICS: name === 'off' || name === 'stacks' ? 'off' : 'on',
  LOG_LEVEL: name === 'off' || name === 'stacks' ? 'warn' : 'info',
  LOG_FORMAT: 'json',
  ...(name === 'all' ? { OTEL_EXPORTER_OTLP_ENDPOINT: traceUrl } : {}),
  ...(name === 'stacks' ? { WORKFLOW_STACK_TRACES: 'on' } : {}),
});

const ttftAnswer = 'Hello from the model, briefly.';

/** An OTLP/HTTP receiver that accepts every export and counts it (a collector's front door). */
async function startTraceSink(): Promise<{ url: string; requests: number; bytes: number; close(): Promise<void> }> {
  const sink: { url: string; requests: number; bytes: number; close(): Promise<void> } = { url: '', requests: 0, bytes: 0, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (sink.bytes += chunk.length));
    request.on('end', () => {
      sink.requests++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

interface Product {
  name: SideName;
  child: Child;
  url: string;
}

async function startProduct(name: SideName, temporal: BenchTemporal, model: ModelServer, apiKey: string, traceUrl: string): Promise<Product> {
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: temporal.environment.address,
    TASK_QUEUE: `bench-observability-${name}-${randomUUID()}`,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'sk-bench',
    MODEL: 'bench',
    PORT: '0',
    API_KEYS: `bench:${apiKey}`,
    ...sideEnv(name, traceUrl),
  };
  const child = startChild('src/main.ts', env);
  const url = (await child.waitFor(/API: +(http:\/\/\S+)/, 120_000))[1]!;
  return { name, child, url };
}

/** POST /v1/runs until the first text.delta reaches an SSE client (ms). */
export async function timeToFirstToken(product: { name: string; url: string }, apiKey: string, input: string): Promise<number> {
  const headers = { authorization: `Bearer ${apiKey}` };
  const sent = performance.now();
  const created = await fetch(`${product.url}/v1/runs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  const { runId } = (await created.json()) as { runId: string };
  const response = await fetch(`${product.url}/v1/runs/${runId}/events`, { headers });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let first: number | undefined;
  let ended = false;
  const parser = createParser({
    onEvent(event) {
      if (event.event === 'text.delta' && first === undefined) first = performance.now() - sent;
      if (isRunEnd(event.event)) ended = true;
    },
  });
  while (!ended) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  await reader.cancel().catch(() => undefined);
  if (first === undefined) throw new Error(`no text.delta in run ${runId} of the ${product.name} side`);
  return first;
}

async function fanoutRun(product: Product, model: ModelServer, apiKey: string, subscribers: number, text: string, ends: number[], tokens: number) {
  const input = `fanout ${product.name} ${randomUUID()}`;
  const created = await fetch(`${product.url}/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ input, tools: [] }) });
  const { runId, streamToken } = (await created.json()) as { runId: string; streamToken: string };
  const meter = processMeter(product.child.process.pid!);
  const cpuBefore = meter.cpuMs();
  const client = await startSubscribers(subscribers, ends);
  client.add(`${product.url}/v1/runs/${runId}/events?token=${encodeURIComponent(streamToken)}`);
  const result = await client.finish();
  const cpuMs = meter.cpuMs() - cpuBefore;
  const request = model.requests.find((candidate) => candidate.body.messages.some((message) => message.content === input))!;
  const written = request.chunkTimes.slice(1, tokens + 1);
  return {
    latencies: result.arrivals.flatMap((arrivals) => arrivals.map((arrival, index) => arrival - written[index]!)),
    complete: result.texts.filter((received) => received === text).length,
    cpuMs,
  };
}

export async function observabilityScenario(temporal: BenchTemporal, options: { triples: number; fanoutRuns: number; subscribers?: number; tokens?: number }): Promise<ObservabilityResult> {
  const tokens = options.tokens ?? 200;
  const subscribers = options.subscribers ?? 100;
  const tokenDelayMs = 10;
  // Prometheus is often set to scrape every 15 s (its own default is a minute).
  const scrapeIntervalMs = 15_000;
  const text = Array.from({ length: tokens }, (_, index) => `o${index}`).join(' ');
  const ends = tokenEnds(text);
  const model = await startModelServer((request) => {
    const input = String(request.messages.at(-1)?.content ?? '');
    // Fan-out: the first token waits until every subscriber is connected.
    if (input.startsWith('fanout')) return { kind: 'stream', frames: textFrames(request.model, text, { firstTokenDelayMs: 1500, tokenDelayMs }) };
    return { kind: 'stream', frames: textFrames(request.model, ttftAnswer, { firstTokenDelayMs: 100, tokenDelayMs: 2 }) };
  });
  const traces = await startTraceSink();
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const names: SideName[] = ['off', 'defaults', 'all', 'stacks'];
  const products = await Promise.all(names.map((name) => startProduct(name, temporal, model, apiKey, traces.url)));
  // Prometheus' part: a scrape of each side with metrics every 15 s, all along.
  const scraped = { scrapes: 0, bytes: 0 };
  const scraper = setInterval(() => {
    for (const product of products.filter((candidate) => candidate.name === 'defaults' || candidate.name === 'all')) {
      void fetch(`${product.url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } })
        .then(async (response) => {
          scraped.bytes += (await response.text()).length;
          scraped.scrapes++;
        })
        .catch(() => undefined);
    }
  }, scrapeIntervalMs);
  /** The sides in a rotating order, so that none is always first. */
  const rotation = (index: number) => products.map((_, position) => products[(position + index) % products.length]!);
  try {
    // Warm every side (tokenizers, bundles, connections), then interleaved triples.
    for (let index = 0; index < 3; index++) for (const product of products) await timeToFirstToken(product, apiKey, `warm ${index}`);
    const ttft = new Map<SideName, number[]>(names.map((name) => [name, []]));
    const added = new Map<SideName, number[]>(names.map((name) => [name, []]));
    const tracesBefore = { requests: traces.requests, bytes: traces.bytes };
    const scrapedBefore = { ...scraped };
    for (let triple = 0; triple < options.triples; triple++) {
      const times = new Map<SideName, number>();
      for (const product of rotation(triple)) times.set(product.name, await timeToFirstToken(product, apiKey, `ttft ${triple}`));
      for (const name of names) {
        ttft.get(name)!.push(times.get(name)!);
        added.get(name)!.push(times.get(name)! - times.get('off')!);
      }
    }
    const fanout = new Map(names.map((name) => [name, { latencies: [] as number[], cpuMs: 0, complete: 0 }]));
    for (let run = 0; run < options.fanoutRuns; run++) {
      for (const product of rotation(run)) {
        const measured = await fanoutRun(product, model, apiKey, subscribers, text, ends, tokens);
        const side = fanout.get(product.name)!;
        side.latencies.push(...measured.latencies);
        side.cpuMs += measured.cpuMs;
        side.complete += measured.complete;
      }
    }
    const sides = names.map(
      (name): ObservabilitySide => ({
        name,
        ttft: summarize(ttft.get(name)!),
        ...(name === 'off' ? {} : { addedTtft: summarize(added.get(name)!), addedTtftInterval: medianInterval(added.get(name)!) }),
        fanout: { tokenLatency: summarize(fanout.get(name)!.latencies), cpuMsPerToken: fanout.get(name)!.cpuMs / (tokens * options.fanoutRuns), complete: fanout.get(name)!.complete, runs: options.fanoutRuns },
      }),
    );
    const result: ObservabilityResult = {
      settings: { triples: options.triples, tokens, subscribers, fanoutRuns: options.fanoutRuns, tokenDelayMs, scrapeIntervalMs },
      sides,
      exported: { traceRequests: traces.requests - tracesBefore.requests, traceBytes: traces.bytes - tracesBefore.bytes, scrapes: scraped.scrapes - scrapedBefore.scrapes, scrapeBytes: scraped.bytes - scrapedBefore.bytes },
    };
    for (const side of sides) {
      console.log(
        `observability ${side.name}: TTFT p50 ${side.ttft.p50.toFixed(1)} ms${side.addedTtft ? ` (added p50 ${side.addedTtft.p50.toFixed(2)} ms)` : ''}; ` +
          `fan-out CPU per token ${side.fanout.cpuMsPerToken.toFixed(3)} ms, token latency p50 ${side.fanout.tokenLatency.p50.toFixed(2)} ms`,
      );
    }
    return result;
  } finally {
    clearInterval(scraper);
    await Promise.all(products.map((product) => product.child.stop()));
    await traces.close();
    await model.close();
  }
}

export function observabilitySection(result: ObservabilityResult): string {
  const { settings, sides } = result;
  const off = sides.find((side) => side.name === 'off')!;
  const verdict = (value: number, limit: number) => (value < limit ? `under ${limit} ms` : `**over ${limit} ms**`);
  const interval = (side: ObservabilitySide) => (side.addedTtftInterval ? `${ms(side.addedTtftInterval.low)} to ${ms(side.addedTtftInterval.high)}` : 'not measured');
  const label: Record<SideName, string> = { off: 'off', defaults: "npm start's defaults (metrics, logs)", all: 'all on (+ traces)', stacks: 'stack traces' };
  const stacks = sides.find((side) => side.name === 'stacks');
  const rows = sides
    .filter((side) => side.name === 'defaults' || side.name === 'all')
    .map((side) => {
      const addedCpu = side.fanout.cpuMsPerToken - off.fanout.cpuMsPerToken;
      return [
        `| **${label[side.name]}**: time to first token added, p50 (pairwise) | ${ms(side.addedTtft!.p50)} (${verdict(side.addedTtft!.p50, 2)}; 95% interval ${interval(side)}) |`,
        `| time to first token p50 / p90 | ${ms(side.ttft.p50)} / ${ms(side.ttft.p90)} (off: ${ms(off.ttft.p50)} / ${ms(off.ttft.p90)}) |`,
        `| fan-out CPU per token added | ${addedCpu.toFixed(3)} ms (${verdict(addedCpu, 1)}; ${side.fanout.cpuMsPerToken.toFixed(3)} ms against ${off.fanout.cpuMsPerToken.toFixed(3)} ms) |`,
        `| fan-out token latency p50 / p99 | ${ms(side.fanout.tokenLatency.p50)} / ${ms(side.fanout.tokenLatency.p99)} (off: ${ms(off.fanout.tokenLatency.p50)} / ${ms(off.fanout.tokenLatency.p99)}) |`,
        `| subscribers that got the whole text | ${side.fanout.complete} / ${settings.subscribers * side.fanout.runs} (off: ${off.fanout.complete} / ${settings.subscribers * off.fanout.runs}) |`,
      ].join('\n');
    })
    .join('\n');
  return `## Observability overhead

\`npm start\` ${sides.length} times, side by side on the same Temporal and model, with API keys: **off**
(\`METRICS=off\`, no traces, \`LOG_LEVEL=warn\`); **npm start's defaults** (metrics, scraped every
${settings.scrapeIntervalMs / 1000} s as Prometheus would, and access and SDK logs at \`info\` as
JSON); **all on** (the defaults and OpenTelemetry traces to an OTLP/HTTP receiver)${stacks ? "; and off but with Temporal's workflow stack traces (`WORKFLOW_STACK_TRACES=on`)" : ''}. The Temporal
Web UI's summaries and current details are on in all. Time to first token:
${settings.triples} interleaved rounds, in rotating order (POST to the first \`text.delta\` at an
SSE client, 100 ms before the model's first token); "added" is a side minus off in the same
round, with a 95% interval for its median (bootstrap) to say what the rounds can tell apart. Fan-out: ${settings.fanoutRuns} runs a side, in turn, each streaming ${settings.tokens}
tokens (one every ${settings.tokenDelayMs} ms) to ${settings.subscribers} SSE subscribers in a
process of their own; CPU is the product process's, per token streamed to all its subscribers.

| | |
| --- | --- |
${rows}
${
  stacks
    ? `
**Temporal's workflow stack traces** (\`WORKFLOW_STACK_TRACES=on\`; off by default, src/workflows/stack-traces-off.ts):
time to first token ${ms(stacks.ttft.p50)} at p50 against ${ms(off.ttft.p50)} off, ${ms(stacks.addedTtft!.p50)} more (pairwise p50; 95% interval ${interval(stacks)}); fan-out CPU per token ${stacks.fanout.cpuMsPerToken.toFixed(3)} ms.
`
    : ''
}
While measured, the traced side sent ${result.exported.traceRequests} trace exports
(${(result.exported.traceBytes / 1024).toFixed(0)} KB), and the sides with metrics answered
${result.exported.scrapes} scrapes (${(result.exported.scrapeBytes / 1024).toFixed(0)} KB).
`;
}
