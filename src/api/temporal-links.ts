import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { fetchExecutionHistory } from '../temporal/history';

// Where a run, each of its steps and each tool call is in the Temporal Web UI: the page of the
// activity's ActivityTaskScheduled event in the execution that ran it. Found by reading the
// executions' histories (the activities' inputs name their step and call), so it is asked for on
// demand (GET /v1/runs/:runId/temporal-links), never computed on the hot path.

export interface TemporalUi {
  url: string;
  namespace: string;
}

export interface TemporalLinks {
  run: string;
  /** Model and tools steps by step number: the (last) activity scheduled for it. */
  steps: Record<string, string>;
  /** Tool calls by call id. */
  calls: Record<string, string>;
}

export function workflowUrl(ui: TemporalUi, runId: string, executionId: string): string {
  return `${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(runId)}/${encodeURIComponent(executionId)}/history`;
}

/** Links for the steps held by these executions of the run (oldest first; the last is the run's). */
export async function temporalLinks(client: Client, ui: TemporalUi, runId: string, executionIds: string[]): Promise<TemporalLinks> {
  const links: TemporalLinks = { run: workflowUrl(ui, runId, executionIds.at(-1)!), steps: {}, calls: {} };
  for (const executionId of executionIds) {
    const { events } = await fetchExecutionHistory(client, runId, executionId, 200);
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (!scheduled?.input?.payloads?.length || event.eventId == null) continue;
      let input: { step?: unknown; callId?: unknown };
      try {
        input = (await decodeFromPayloadsAtIndex<{ step?: unknown; callId?: unknown }>(client.options.loadedDataConverter, 0, scheduled.input.payloads)) ?? {};
      } catch {
        continue; // a payload this API cannot decode (another key): no link for it
      }
      if (typeof input.step !== 'number') continue;
      const url = `${workflowUrl(ui, runId, executionId)}/events/${String(event.eventId)}`;
      // A step's first call is its place; a model step's fallback attempt is a later activity of the same step.
      if (typeof input.callId === 'string') {
        links.calls[input.callId] = url;
        links.steps[String(input.step)] ??= url;
      } else if (scheduled.activityType?.name === 'llmStep') links.steps[String(input.step)] = url;
    }
  }
  return links;
}
