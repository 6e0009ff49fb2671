import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { ChatRequest, Reply } from '../src/demo-model/server';
import { runHistories } from '../test/helpers/history';
import { startBenchStack, type BenchTemporal } from './harness';
import { sseMessages } from './harness-client';
import { summarize, type Summary } from './stats';
import { isRunEnd } from '../src/shared/events';

// Long runs: a model that reads a 100 KB workspace file at every step, for 10, 100 and 500 model
// steps. What Temporal holds per step (bytes beyond the new content, events), the largest payload,
// and the time to first token between steps late in the run against early in it, all from the same run.

export interface LongRunRow {
  modelSteps: number;
  steps: number;
  executions: number;
  historyBytes: number;
  /** Tool results and model text, as written once. */
  contentBytes: number;
  bytesPerStep: number;
  /** History bytes per step beyond the step's new content. */
  overheadPerStep: number;
  eventsPerStep: number;
  largestPayload: number;
  /** POST to the first token of step 1 at the client. */
  firstStepTtft: number;
  /**
   * Orchestration before a model call: the model finished answering step k, its tool ran, and the
   * request of the next model step reached the model (read at the model; the tool takes ~1 ms).
   */
  earlySteps: Summary;
  lateSteps: Summary;
  seconds: number;
}

const fileBytes = 100 * 1024;
const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };

function reply(request: ChatRequest): Reply {
  const userIndex = request.messages.findLastIndex((message) => message.role === 'user');
  const wanted = Number((request.messages[userIndex]?.content ?? '').split(' ')[1]);
  const calls = request.messages.slice(userIndex + 1).flatMap((message) => (message.tool_calls as unknown[] | undefined) ?? []);
  const step = calls.length + 1;
  if (step >= wanted) return { kind: 'stream', frames: textFrames(request.model, `Read it ${step - 1} times.`, fast) };
  const call = { id: `call_${step}`, name: 'read_file', arguments: JSON.stringify({ path: 'big.txt', maxBytes: fileBytes }) };
  return { kind: 'stream', frames: [...textFrames(request.model, `Step ${step}. `, fast).slice(0, -1), ...toolCallFrames(request.model, [call], fast)] };
}

/** A short run first: the first run of a process pays for warming up. */
async function warmUp(url: string): Promise<void> {
  const created = await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'read 2', maxSteps: 2, tools: ['read_file'] }) });
  const { runId } = (await created.json()) as { runId: string };
  await watch(`${url}/v1/runs/${runId}/events`);
}

interface Arrival {
  event: string;
  step: number;
  at: number;
}

/** Reads a run's SSE stream to its end, noting when each event arrived. */
async function watch(url: string): Promise<Arrival[]> {
  const response = await fetch(url);
  const arrivals: Arrival[] = [];
  for await (const { event, data } of sseMessages(response.body! as AsyncIterable<Uint8Array>)) {
    arrivals.push({ event, step: (JSON.parse(data) as { step: number }).step, at: performance.now() });
    if (isRunEnd(event)) return arrivals;
  }
  return arrivals;
}

export async function longRunsScenario(temporal: BenchTemporal, sizes = [10, 100, 500]): Promise<LongRunRow[]> {
  const workspaceDir = mkdtempSync(join(tmpdir(), 'bench-long-'));
  const line = 'export function handle(request: Request): Response { return route(request, table); }\n';
  writeFileSync(join(workspaceDir, 'big.txt'), line.repeat(Math.ceil(fileBytes / line.length)).slice(0, fileBytes));
  const config = loadConfig({});
  // npm start's defaults: the same limits, context window and history limits.
  const bench = await startBenchStack(temporal, reply, 'bench-long-runs', {
    toolSettings: { ...config.tools, workspaceDir },
    limits: { ...config.limits, maxSteps: 1000 },
  });
  const rows: LongRunRow[] = [];
  try {
    await warmUp(bench.stack.url);
    for (const modelSteps of sizes) {
      const posted = performance.now();
      const created = await fetch(`${bench.stack.url}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: `read ${modelSteps}`, maxSteps: modelSteps, tools: ['read_file'] }),
      });
      const body = (await created.json()) as { runId: string; links: { temporalUi: string } };
      const arrivals = await watch(`${bench.stack.url}/v1/runs/${body.runId}/events`);
      const seconds = (performance.now() - posted) / 1000;
      if (arrivals.at(-1)?.event !== 'run.completed') throw new Error(`run of ${modelSteps} steps ended with ${arrivals.at(-1)?.event}`);

      const firstDelta = arrivals.find((arrival) => arrival.event === 'text.delta')!.at;
      // Between model calls, at the model: the end of one answer to the next request.
      const requests = bench.model.requests.filter((request) => request.body.messages.some((message) => message.role === 'user' && message.content === `read ${modelSteps}`));
      const gaps = requests.slice(1).map((request, index) => request.receivedAt - requests[index]!.completedAt!);
      const window = Math.min(10, Math.max(1, Math.floor(gaps.length / 2)));

      const contentBytes = await runContent(bench.stack.url, body.runId);
      const firstExecution = decodeURIComponent(body.links.temporalUi.split('/').at(-2)!);
      const histories = await runHistories(temporal.environment.client, body.runId, firstExecution);
      const historyBytes = histories.reduce((sum, history) => sum + history.bytes, 0);
      const events = histories.reduce((sum, history) => sum + history.events, 0);
      const steps = 2 * modelSteps - 1;
      rows.push({
        modelSteps,
        steps,
        executions: histories.length,
        historyBytes,
        contentBytes,
        bytesPerStep: historyBytes / steps,
        overheadPerStep: (historyBytes - contentBytes) / steps,
        eventsPerStep: events / steps,
        largestPayload: Math.max(...histories.map((history) => history.largestPayload)),
        firstStepTtft: firstDelta - posted,
        earlySteps: summarize(gaps.slice(0, window)),
        lateSteps: summarize(gaps.slice(-window)),
        seconds,
      });
      console.log(`long runs: ${modelSteps} model steps in ${seconds.toFixed(0)} s, ${histories.length} executions, ${(historyBytes / steps / 1024).toFixed(1)} KB per step`);
    }
  } finally {
    await bench.close();
    rmSync(workspaceDir, { recursive: true, force: true });
  }
  return rows;
}

/** The bytes the run's steps wrote once: tool results, model text and tool-call arguments (read in pages). */
async function runContent(url: string, runId: string): Promise<number> {
  let bytes = 0;
  for (let fromStep: number | undefined = 1; fromStep !== undefined; ) {
    const page = (await (await fetch(`${url}/v1/runs/${runId}?fromStep=${fromStep}`)).json()) as { steps: any[]; nextStep?: number };
    for (const step of page.steps) {
      if (step.kind === 'llm') bytes += Buffer.byteLength(step.text ?? '') + (step.toolCalls ?? []).reduce((sum: number, call: any) => sum + call.arguments.length, 0);
      if (step.kind === 'tools') bytes += step.calls.reduce((sum: number, call: any) => sum + Buffer.byteLength(call.result ?? call.error ?? ''), 0);
    }
    fromStep = page.nextStep;
  }
  return bytes;
}

export function longRunsSection(rows: LongRunRow[]): string {
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  const table = rows
    .map(
      (row) =>
        `| ${row.modelSteps} | ${row.steps} | ${row.executions} | ${kb(row.historyBytes)} | ${kb(row.contentBytes)} | ${kb(row.bytesPerStep)} | ${kb(row.overheadPerStep)} | ${row.eventsPerStep.toFixed(1)} | ${kb(row.largestPayload)} | ${row.firstStepTtft.toFixed(0)} | ${row.earlySteps.p50.toFixed(1)} | ${row.lateSteps.p50.toFixed(1)} | ${(row.lateSteps.p50 - row.earlySteps.p50).toFixed(1)} | ${row.seconds.toFixed(0)} |`,
    )
    .join('\n');
  const linear = rows.every((row) => row.overheadPerStep <= 10 * 1024);
  const small = rows.every((row) => row.largestPayload < 512 * 1024);
  const last = rows.at(-1)!;
  // The target is stated at 500 steps; longer runs are shown for information.
  const target = rows.find((row) => row.modelSteps === 500) ?? last;
  const flat = target.lateSteps.p50 - target.earlySteps.p50 <= 20;
  return `## Long runs

A model that reads a 100 KB workspace file (\`read_file\`) at every step, for ${rows.map((row) => row.modelSteps).join(', ')} model steps
(each but the last followed by a tools step), with \`npm start\`'s defaults: 128,000-token context
window (so old results are replaced by notes as the run goes on), history limits of 4,000 events
or 4 MB before continuing as new. History is read back from Temporal for every execution of the
run. "Overhead" is history bytes per step beyond the content the step wrote once (its tool result
or model text). "Between model calls" is measured at the model: from the end of one answer to the
next request (Temporal records the answer, runs the tool, records its result, schedules the next
model step, which reads the steps it lacks and fits the context): p50 of the first and of the
last ${Math.min(10, Math.floor((last.steps - 1) / 4))} gaps of the run. It is what a step adds before the model is called; the token's
way from the model to the client does not change along a run (see Token latency).

Targets: overhead at most 10 KB per step (${linear ? 'met' : 'missed'}: linear, not quadratic); largest payload under 512 KB
(${small ? 'met' : 'missed'}); time to first token at step ${target.modelSteps} within 20 ms of the first steps (${flat ? 'met' : 'missed'}: ${(target.lateSteps.p50 - target.earlySteps.p50).toFixed(1)} ms).
The benchmark's model runs in the stack's process and keeps every request it received (about
400 KB each once the context is full), so late in the longest runs that process also carries
hundreds of MB more than a real deployment.

| model steps | steps | executions | history KB | content KB | KB per step | overhead KB per step | events per step | largest payload KB | step 1 TTFT ms | between model calls, early p50 ms | late p50 ms | late − early ms | run s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${table}
`;
}
