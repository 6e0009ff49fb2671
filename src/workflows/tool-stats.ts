import { allHandlersFinished, condition, continueAsNew, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { toolSamplesSignal, toolStatsWindow, type ToolStatsSummary } from '../shared/tool-stats';

// Per tool: calls, errors, cache hits and the last durations of calls that ran, fed by every
// worker's batches of samples. The summary goes into the memo after each batch, so that readers
// (estimates in workers, GET /v1/tools) get it with a describe, never a query; the workflow
// continues as new well before its history grows long.

interface ToolTally {
  calls: number;
  errors: number;
  cacheHits: number;
  durations: number[];
}

export type ToolStatsState = Record<string, ToolTally>;

const percentile = (sorted: number[], fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;

export function summarizeTools(state: ToolStatsState): Record<string, ToolStatsSummary> {
  const summary: Record<string, ToolStatsSummary> = {};
  for (const [tool, tally] of Object.entries(state)) {
    const sorted = [...tally.durations].sort((a, b) => a - b);
    summary[tool] = {
      calls: tally.calls,
      errors: tally.errors,
      cacheHits: tally.cacheHits,
      samples: sorted.length,
      ...(sorted.length > 0 ? { p50Ms: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) } : {}),
    };
  }
  return summary;
}

export async function toolStats(carried: ToolStatsState = {}): Promise<void> {
  const state: ToolStatsState = carried;
  let changed = false;
  setHandler(toolSamplesSignal, (samples) => {
    for (const sample of samples.slice(0, 1000)) {
      if (typeof sample?.tool !== 'string' || !Number.isFinite(sample.ms)) continue;
      const tally = (state[sample.tool] ??= { calls: 0, errors: 0, cacheHits: 0, durations: [] });
      tally.calls++;
      if (!sample.ok) tally.errors++;
      else if (sample.cached) tally.cacheHits++;
      else {
        tally.durations.push(Math.max(0, Math.round(sample.ms)));
        if (tally.durations.length > toolStatsWindow) tally.durations.splice(0, tally.durations.length - toolStatsWindow);
      }
    }
    changed = true;
  });
  while (workflowInfo().historyLength < 2000) {
    await condition(() => changed);
    changed = false;
    upsertMemo({ tools: summarizeTools(state) });
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof toolStats>(state);
}
