import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { fetchExecutionHistory } from '../../src/temporal/history';

// What a run wrote to Temporal: every execution of its chain, each payload's size.

export interface ExecutionHistory {
  executionId: string;
  events: number;
  bytes: number;
  /** The largest Payloads (an activity's input, a result, a workflow input, a query…) in bytes. */
  largestPayload: number;
  /** The execution continued as new into this one (undefined for the last). */
  continuedAs?: string;
}

/** Sums the payloads of every `payloads` array found in an event. */
function payloadSizes(value: unknown, out: number[]): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) payloadSizes(item, out);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'payloads' && Array.isArray(child)) {
      out.push(child.reduce((sum: number, payload: { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> }) => sum + (payload.data?.length ?? 0), 0));
    } else if (!(child instanceof Uint8Array)) payloadSizes(child, out);
  }
}

/** The run's executions from the first, following continue-as-new. */
export async function runHistories(client: Client, runId: string, firstExecutionId: string): Promise<ExecutionHistory[]> {
  const out: ExecutionHistory[] = [];
  let executionId: string | undefined = firstExecutionId;
  while (executionId) {
    const { events } = await fetchExecutionHistory(client, runId, executionId);
    const history = { events };
    const sizes: number[] = [];
    for (const event of events) payloadSizes(event, sizes);
    const bytes = proto.temporal.api.history.v1.History.encode(history).finish().length;
    const last = events.at(-1);
    const continuedAs: string | undefined = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    out.push({ executionId, events: events.length, bytes, largestPayload: Math.max(0, ...sizes), ...(continuedAs ? { continuedAs } : {}) });
    executionId = continuedAs;
  }
  return out;
}
