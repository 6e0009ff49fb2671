import type { Client } from '@temporalio/client';
import type proto from '@temporalio/proto';

// An execution's history in small pages: one page of a long run's history (a thousand events by
// default, with their payloads) can pass gRPC's 4 MB message limit, which fetchHistory() meets.

export type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export async function fetchExecutionHistory(client: Client, workflowId: string, executionId?: string, pageSize = 20): Promise<{ events: HistoryEvent[] }> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, ...(executionId ? { runId: executionId } : {}) },
      maximumPageSize: pageSize,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}
