import { defineSignal } from '@temporalio/workflow';

// Tool analytics shared by every worker and API: the toolStats workflow (one per namespace)
// takes batches of samples by signal and keeps its summary in its memo, which readers get with a
// describe. Defined once for the workflow, the workers and the API.

export interface ToolSample {
  tool: string;
  /** Duration of the call's attempt, in milliseconds. */
  ms: number;
  ok: boolean;
  cached: boolean;
}

export interface ToolStatsSummary {
  calls: number;
  errors: number;
  cacheHits: number;
  /** Over the last durations of calls that ran (not cache hits) and succeeded. */
  samples: number;
  p50Ms?: number;
  p90Ms?: number;
}

/**
 * One analytics workflow per task queue, on that queue: the workers of one deployment share it,
 * and a deployment never depends on another one's workers (a namespace can hold several, each
 * on its own queue; a workflow started on a queue nobody polls any more would take no samples).
 */
export const toolStatsWorkflowId = (taskQueue: string) => `durable-agents-tool-stats:${taskQueue}`;
export const toolStatsWorkflowType = 'toolStats';
export const toolSamplesSignal = defineSignal<[ToolSample[]]>('toolSamples');
/** Durations kept per tool for its percentiles. */
export const toolStatsWindow = 200;
