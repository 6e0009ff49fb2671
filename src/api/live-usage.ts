import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { LiveRelay, StreamCoordinates } from '../relay/live-relay';
import { addUsage, type Usage } from '../shared/run-types';
import { costFor } from '../shared/prices';
import type { RunCosts } from './run-costs';
import type { RunView } from './run-reader';

// A model step's tokens while it streams, for GET /v1/runs/:id: the latest usage.updated this
// process can see (its own worker's streams, or what it already reads for SSE clients), else the
// estimate in the step's heartbeat details (at most a heartbeat old, about a second), which any
// API replica can read from the describe its read made anyway. Only for the step the durable
// state shows running: once the step completed, its exact usage is in the totals instead.

export interface StreamingUsage {
  step: number;
  attempt: number;
  model: string;
  usage: Usage;
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;
const isUsage = (value: unknown): value is Usage => {
  const usage = value as Usage | undefined;
  return typeof usage === 'object' && usage !== null && isCount(usage.promptTokens) && isCount(usage.completionTokens) && isCount(usage.totalTokens);
};

/** The model step the view shows running, if its window reaches the run's end. */
function runningStep(view: RunView): number | undefined {
  if ((view.status !== 'running' && view.status !== 'queued') || view.nextStep !== undefined) return undefined;
  const last = view.steps.at(-1);
  return last?.kind === 'llm' && last.status === 'running' && last.step === view.stepCount ? last.step : undefined;
}

export async function streamingUsage(view: RunView, relay: LiveRelay, client: Client, description: WorkflowExecutionDescription | undefined): Promise<StreamingUsage | undefined> {
  const step = runningStep(view);
  if (step === undefined) return undefined;
  const event = relay.latestUsage?.(view.runId);
  if (event?.event === 'usage.updated' && event.data.step === step) {
    return { step, attempt: event.data.attempt, model: event.data.model, usage: event.data.usage };
  }
  const activity = description?.raw.pendingActivities?.find((pending) => pending.activityType?.name === 'llmStep' && pending.heartbeatDetails?.payloads?.length);
  if (!activity) return undefined;
  try {
    // Through the client's data converter: with PAYLOAD_KEYS the details are encrypted.
    const details = await decodeFromPayloadsAtIndex<StreamCoordinates>(client.options.loadedDataConverter, 0, activity.heartbeatDetails!.payloads!);
    if (details?.stream !== `llm:${step}` || !isUsage(details.usage) || !isCount(details.attempt) || typeof details.model !== 'string') return undefined;
    return { step, attempt: details.attempt, model: details.model, usage: details.usage };
  } catch {
    // Details from a worker of another version, or undecodable here: the durable totals stand.
    return undefined;
  }
}

/** A run's usage and cost now: the finished steps' plus the streaming step's estimate, when one is visible. */
export async function liveTotals(view: RunView, sources: { relay: LiveRelay; client: Client; costs: RunCosts }, description?: WorkflowExecutionDescription) {
  const streaming = await streamingUsage(view, sources.relay, sources.client, description);
  return {
    streaming,
    usage: streaming ? addUsage(view.usage, streaming.usage) : view.usage,
    cost: sources.costs.ofRun(view, streaming),
    streamingCost: streaming ? costFor(sources.costs.prices, streaming.model, streaming.usage) : undefined,
  };
}
