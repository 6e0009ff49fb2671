import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defaultTools } from '../src/activities/tools';
import { ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { sseMessages } from './harness-client';
import { startBenchStack, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// How close tool.started's estimatedMs comes to each call's real duration. A tool whose
// durations follow a fixed log-normal distribution (median 200 ms, spread sigma 0.35, seeded) is
// called by one run after another; for each call with an estimate, the error is
// |estimate - duration| / duration. The baseline of the same run is the best any single number
// can do for such a tool: the distribution's true median as the estimate for every call.

export interface EstimatesResult {
  calls: number;
  withEstimate: number;
  /** Calls before the first estimate (samples are sent every 2 s, read every 5 s). */
  firstEstimateAfter: number;
  error: Summary;
  baselineError: Summary;
}

const median = 200;
const sigma = 0.35;

function lognormal(seed: number): () => number {
  let state = seed;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  return () => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

export async function estimatesScenario(temporal: BenchTemporal, calls: number): Promise<EstimatesResult> {
  const next = lognormal(42);
  const durations = new Map<string, number>();
  const timed: ToolDefinition<{ id: string }> = {
    name: 'timed',
    description: 'Takes a while.',
    parameters: z.object({ id: z.string() }),
    idempotent: true,
    async run({ id }) {
      const duration = durations.get(id)!;
      await sleep(duration);
      return 'ok';
    },
  };
  const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
  const responder: Responder = (request) => {
    if (request.messages.some((message) => message.role === 'tool')) return { kind: 'stream', frames: textFrames(request.model, 'done', fast) };
    const id = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
    return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: 'call_1', name: 'timed', arguments: JSON.stringify({ id }) }], fast) };
  };
  const bench = await startBenchStack(temporal, responder, 'bench-estimates', { tools: new ToolRegistry([...defaultTools(loadConfig({}).tools), timed]) });
  const errors: number[] = [];
  const baseline: number[] = [];
  let firstEstimateAfter = calls;
  try {
    for (let index = 0; index < calls; index++) {
      const id = `call ${index}`;
      const duration = next();
      durations.set(id, duration);
      const created = await fetch(`${bench.stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: id, tools: ['timed'] }) });
      const { runId } = (await created.json()) as { runId: string };
      const response = await fetch(`${bench.stack.url}/v1/runs/${runId}/events`);
      for await (const message of sseMessages(response.body as AsyncIterable<Uint8Array>)) {
        if (message.event === 'tool.started') {
          const estimate = (JSON.parse(message.data) as { estimatedMs?: number }).estimatedMs;
          if (estimate !== undefined) {
            firstEstimateAfter = Math.min(firstEstimateAfter, index);
            errors.push(Math.abs(estimate - duration) / duration);
            baseline.push(Math.abs(median - duration) / duration);
          }
        }
        if (/^run\.(completed|failed|cancelled)$/.test(message.event)) break;
      }
    }
  } finally {
    await bench.close();
  }
  console.log(`estimates: ${errors.length} of ${calls} calls had an estimate; error p50 ${(summarize(errors).p50 * 100).toFixed(1)}%, true median's ${(summarize(baseline).p50 * 100).toFixed(1)}%`);
  return { calls, withEstimate: errors.length, firstEstimateAfter, error: summarize(errors), baselineError: summarize(baseline) };
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function estimatesSection(result: EstimatesResult): string {
  return `## Tool time estimates

A tool whose durations follow a log-normal distribution (median ${median} ms, sigma ${sigma}) is
called ${result.calls} times, one run after another; \`tool.started\` carries \`estimatedMs\` (the
tool's recent p50 across every worker, from the shared analytics) once there are 3 samples and
the worker has read them (samples are sent every 2 s and read every 5 s at most). Error is
|estimate − duration| / duration; the baseline is the same error for the distribution's true
median, the best one number can do for such a tool.

| measure | figure |
| --- | --- |
| calls with an estimate | ${result.withEstimate} of ${result.calls} (the first at call ${result.firstEstimateAfter + 1}) |
| error of the estimate, p50 / p90 | ${percent(result.error.p50)} / ${percent(result.error.p90)} |
| error of the true median, p50 / p90 | ${percent(result.baselineError.p50)} / ${percent(result.baselineError.p90)} |
| ratio (estimate's p50 error / true median's) | ${(result.error.p50 / result.baselineError.p50).toFixed(2)} |

The estimate's error cannot go far below the tool's own spread: a ratio near 1 means the
estimate is as good as knowing the tool's true median (${ms(median)}).
`;
}
