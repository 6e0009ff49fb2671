import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { runToEnd, startBenchStack, type BenchTemporal } from './harness';
import { ms, summarize, type Summary } from './stats';

// N tool calls of d seconds each (the `wait` tool), run in parallel by the orchestrator, against
// the same calls run one after another (the sequential loop of today's agents: the same stack with
// a concurrency of 1), interleaved in the same run. The tools phase is read from the workflow
// history: from the model step's completion to the last tool activity's completion.

export interface ToolsResult {
  settings: { calls: number; seconds: number; repeats: number };
  parallel: Summary;
  sequential: Summary;
  speedup: number;
  overheadPerCallParallelMs: number;
  overheadPerCallSequentialMs: number;
}

async function toolsPhaseMs(temporal: BenchTemporal, runId: string): Promise<number> {
  const history = await temporal.environment.client.workflow.getHandle(runId).fetchHistory();
  const events = history.events ?? [];
  const time = (event: (typeof events)[number]) => Number(event.eventTime!.seconds) * 1000 + (event.eventTime!.nanos ?? 0) / 1e6;
  const scheduled = new Map<string, string>();
  for (const event of events) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes) scheduled.set(String(event.eventId), attributes.activityType!.name!);
  }
  const completions = events.flatMap((event) => {
    const attributes = event.activityTaskCompletedEventAttributes;
    return attributes ? [{ type: scheduled.get(String(attributes.scheduledEventId))!, at: time(event) }] : [];
  });
  const modelDone = completions.find((completion) => completion.type === 'llmStep')!.at;
  const lastTool = Math.max(...completions.filter((completion) => completion.type.startsWith('tool:')).map((completion) => completion.at));
  return lastTool - modelDone;
}

export async function toolsScenario(temporal: BenchTemporal, calls = 5, seconds = 1, repeats = 5): Promise<ToolsResult> {
  const parallelStack = await startBenchStack(temporal, toolScript, 'bench-tools-parallel', { toolConcurrency: 8 });
  const sequentialStack = await startBenchStack(temporal, toolScript, 'bench-tools-sequential', { toolConcurrency: 1 });
  const input = toolCallScriptInput(...Array.from({ length: calls }, () => ['wait', { seconds }] as [string, unknown]));
  const parallel: number[] = [];
  const sequential: number[] = [];
  try {
    await runToEnd(parallelStack.stack.url, { input });
    for (let i = 0; i < repeats; i++) {
      parallel.push(await toolsPhaseMs(temporal, (await runToEnd(parallelStack.stack.url, { input })).runId));
      sequential.push(await toolsPhaseMs(temporal, (await runToEnd(sequentialStack.stack.url, { input })).runId));
      console.log(`tools: ${i + 1}/${repeats} pairs`);
    }
  } finally {
    await parallelStack.close();
    await sequentialStack.close();
  }
  const parallelSummary = summarize(parallel);
  const sequentialSummary = summarize(sequential);
  return {
    settings: { calls, seconds, repeats },
    parallel: parallelSummary,
    sequential: sequentialSummary,
    speedup: sequentialSummary.p50 / parallelSummary.p50,
    overheadPerCallParallelMs: parallelSummary.p50 - seconds * 1000,
    overheadPerCallSequentialMs: (sequentialSummary.p50 - calls * seconds * 1000) / calls,
  };
}

export function toolsSection(result: ToolsResult): string {
  const { calls, seconds, repeats } = result.settings;
  const target = 1200;
  return `## Parallel tools

${calls} calls of the \`wait\` tool, ${seconds} s each, in one model message: run in parallel (one
activity per call, all scheduled at once) against the same calls run one after another (the same
stack with a tool concurrency of 1, as an agent loop that awaits each call), ${repeats} runs each,
interleaved. Measured from the workflow history: from the model step's completion to the last
tool activity's completion (scheduling, dispatch, the tools, and recording the results).

| mode | p50 | min | max |
| --- | --- | --- | --- |
| parallel | ${ms(result.parallel.p50)} | ${ms(result.parallel.min)} | ${ms(result.parallel.max)} |
| one after another (baseline) | ${ms(result.sequential.p50)} | ${ms(result.sequential.min)} | ${ms(result.sequential.max)} |

- Speed-up: **${result.speedup.toFixed(2)}×** (ideal: ${calls}×).
- Orchestration overhead: ${ms(result.overheadPerCallParallelMs)} for the whole parallel step
  beyond the ${seconds} s the tools take; ${ms(result.overheadPerCallSequentialMs)} per call when
  run one after another (one workflow task and one activity dispatch each).
- Target: ${calls} × ${seconds} s tools finish in ≤ ${ms(target)}. Result: ${ms(result.parallel.p50)} at p50, ${result.parallel.p50 <= target ? 'met' : 'missed'}.
`;
}
