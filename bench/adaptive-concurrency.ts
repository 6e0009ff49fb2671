import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpGetTool } from '../src/activities/tools/http-get-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { sseMessages } from './harness-client';
import { startBenchStack, type BenchTemporal } from './harness';

// Adaptive tool concurrency against fixed limits: one model message asks for `calls` http_get
// calls to a backend that serves 8 at once in 250 ms, slows down steeply past that and answers
// 503 (Retry-After: 1) past 24. Each setting runs the same batch on a fresh worker, some rounds in
// a row (round 1 starts cold; the adaptive limiter keeps what it learned for later rounds; fixed
// limits learn nothing, so quick mode runs them once). http_get keeps its own retry policy (3
// attempts): a call refused three times fails.

const knee = 8;
const refuseAbove = 24;
const baseMs = 250;
/** Latency of a request that finds `concurrent` requests in service, itself included. */
const latencyMs = (concurrent: number) => baseMs * (1 + Math.max(0, (concurrent - knee) / 4) ** 2);

export interface AdaptiveRound {
  setting: string;
  round: number;
  ms: number;
  failedCalls: number;
  refused: number;
  maxConcurrent: number;
  /** The limiter's limit for the backend's host after the round, and its cuts so far (adaptive only). */
  limit?: number;
  cuts?: number;
  /** What the limiter measured: mean latency by calls in flight. */
  latency?: Array<{ inFlight: string; meanMs: number; calls: number }>;
}

export interface AdaptiveResult {
  calls: number;
  rounds: AdaptiveRound[];
}

function startBackend() {
  const state = { concurrent: 0, maxConcurrent: 0, refused: 0 };
  const server = createServer((request, response) => {
    if (state.concurrent >= refuseAbove) {
      state.refused++;
      return response.writeHead(503, { 'retry-after': '1' }).end('overloaded');
    }
    state.concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
    setTimeout(() => {
      state.concurrent--;
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${request.url}`);
    }, latencyMs(state.concurrent));
  });
  return new Promise<{ url: string; state: typeof state; close(): Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        state,
        close: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))),
      }),
    ),
  );
}

/** Runs the batch; returns its wall time (submit to run.completed) and the calls that failed. */
async function runBatch(url: string, input: string): Promise<{ ms: number; failedCalls: number }> {
  const started = performance.now();
  const created = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  const { runId } = (await created.json()) as { runId: string };
  const response = await fetch(`${url}/v1/runs/${runId}/events`);
  let failedCalls = 0;
  for await (const message of sseMessages(response.body! as AsyncIterable<Uint8Array>)) {
    if (message.event === 'tool.failed') failedCalls++;
    if (message.event === 'run.completed') return { ms: performance.now() - started, failedCalls };
    if (message.event === 'run.failed' || message.event === 'run.cancelled') throw new Error(`adaptive bench: run ended with ${message.event}`);
  }
  throw new Error('adaptive bench: the stream ended before the run');
}

export async function adaptiveScenario(temporal: BenchTemporal, calls: number, rounds: { adaptive: number; fixed: number }): Promise<AdaptiveResult> {
  const backend = await startBackend();
  const settings = [
    { setting: 'adaptive (up to 64)', toolConcurrency: 64, concurrency: { adaptive: true, maxPerKey: 64 } },
    ...[4, 16, 64].map((fixed) => ({ setting: `fixed ${fixed}`, toolConcurrency: fixed, concurrency: { adaptive: false, maxPerKey: 64 } })),
  ];
  const results: AdaptiveRound[] = [];
  const key = `http_get:${new URL(backend.url).host}`;
  try {
    for (const [index, { setting, toolConcurrency, concurrency }] of settings.entries()) {
      const httpGet = createHttpGetTool({ allowPrivate: false, allowedHosts: ['127.0.0.1'], timeoutMs: 10_000, maxBytes: 10_000 });
      const tools = new ToolRegistry([httpGet], { concurrency });
      const bench = await startBenchStack(temporal, toolScript, `bench-adaptive-${index}`, { tools, toolConcurrency });
      try {
        for (let round = 1; round <= (concurrency.adaptive ? rounds.adaptive : rounds.fixed); round++) {
          // Distinct URLs: nothing is served from a cache.
          const input = toolCallScriptInput(...Array.from({ length: calls }, (_, call) => ['http_get', { url: `${backend.url}/${index}/${round}/${call}` }] as [string, unknown]));
          Object.assign(backend.state, { maxConcurrent: 0, refused: 0 });
          const { ms, failedCalls } = await runBatch(bench.stack.url, input);
          const state = concurrency.adaptive ? tools.concurrency.state(key) : undefined;
          const learned = state ? { limit: state.limit, cuts: state.cuts, latency: state.latency } : {};
          results.push({ setting, round, ms, failedCalls, refused: backend.state.refused, maxConcurrent: backend.state.maxConcurrent, ...learned });
          const latency = state ? `, limit ${state.limit} after ${state.cuts} cuts; ms by calls in flight: ${state.latency.map((level) => `${level.inFlight}: ${level.meanMs}`).join(', ')}` : '';
          console.log(`adaptive: ${setting} round ${round}: ${(ms / 1000).toFixed(2)} s, ${failedCalls} failed, ${backend.state.refused} refused, max ${backend.state.maxConcurrent} at once${latency}`);
        }
      } finally {
        await bench.close();
      }
    }
  } finally {
    await backend.close();
  }
  return { calls, rounds: results };
}

export function adaptiveSection(result: AdaptiveResult): string {
  const of = (setting: string) => result.rounds.filter((round) => round.setting === setting);
  const mean = (rounds: AdaptiveRound[]) => rounds.reduce((sum, round) => sum + round.ms, 0) / rounds.length / 1000;
  const failed = (setting: string) => of(setting).reduce((sum, round) => sum + round.failedCalls, 0);
  const [adaptive, ...fixed] = [...new Set(result.rounds.map((round) => round.setting))] as [string, ...string[]];
  const cold = mean(of(adaptive).filter((round) => round.round === 1));
  const warmRounds = of(adaptive).filter((round) => round.round > 1);
  const warm = warmRounds.length > 0 ? mean(warmRounds) : Number.NaN;
  const bestFixed = fixed.filter((setting) => failed(setting) === 0).sort((a, b) => mean(of(a)) - mean(of(b)))[0];
  const last = of(adaptive).at(-1)!;
  const rows = result.rounds.map(
    (round) => `| ${round.setting} | ${round.round} | ${(round.ms / 1000).toFixed(2)} s | ${round.failedCalls} | ${round.refused} | ${round.maxConcurrent} | ${round.limit ?? '—'} |`,
  );
  return `## Adaptive tool concurrency

One model message asks for ${result.calls} \`http_get\` calls to one host that serves ${knee} requests
at once in ${baseMs} ms, slows down steeply past that (a request that finds *c* in service takes
${baseMs} × (1 + ((c − ${knee}) / 4)²) ms: ${latencyMs(12)} ms at 12, ${latencyMs(16)} ms at 16) and answers
503 with \`Retry-After: 1\` past ${refuseAbove}. The worker's adaptive limit for that host (starting
at 16, up to 64, step bound 64) against fixed limits (the step's \`TOOL_CONCURRENCY\`, limiter
off), each on a fresh worker, the batch some rounds in a row (round 1 starts cold; fixed limits
learn nothing). Time: from submitting the run to \`run.completed\` (two model steps and the
tools). A call refused three times (http_get's retry policy) fails: the model gets an error.

| setting | round | time | failed calls | 503s (refused attempts) | most at once at the host | limit after |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

- Adaptive: ${cold.toFixed(2)} s cold${warmRounds.length > 0 ? `, ${warm.toFixed(2)} s warm (rounds 2+)` : ''}, ${failed(adaptive)} failed calls; limit ${last.limit} after ${last.cuts} cuts. What it measured, mean ms by calls in flight: ${(last.latency ?? []).map((level) => `${level.inFlight}: ${level.meanMs}`).join(', ')}.
- ${bestFixed ? `Best fixed limit without failures: ${bestFixed}, ${mean(of(bestFixed)).toFixed(2)} s a round. Speed-up of adaptive over it: **${(mean(of(bestFixed)) / cold).toFixed(2)}×** cold${warmRounds.length > 0 ? `, **${(mean(of(bestFixed)) / warm).toFixed(2)}×** warm` : ''}, without anyone choosing a number. Cold, the limit grows (slow start) before the slow calls it lets in have reported, and it pays for that overshoot once.` : 'Every fixed limit had failed calls.'}
- ${fixed.map((setting) => `${setting}: ${mean(of(setting)).toFixed(2)} s a round, ${failed(setting)} failed`).join('; ')}.
`;
}
