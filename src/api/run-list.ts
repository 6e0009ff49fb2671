import type { Client } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { isGrpcServiceError } from '@temporalio/client';
import { z } from 'zod';
import { tenantSearchAttribute } from '../shared/search-attributes';
import { agentTurnWorkflowType } from '../workflows/definitions';
import { HttpError } from './errors';
import { describeIssues } from './run-request';
import { listMemo, runListStatuses, type RunListItem, type RunListStatus } from '../shared/run-list';

// GET /v1/runs: a tenant's runs, newest first (running ones, then the most recently ended), from Temporal's visibility store (the tenant is a
// search attribute, src/shared/search-attributes.ts). One page per request; the cursor is
// Temporal's page token, opaque to clients. The query always names the caller's tenant, so a
// cursor handed from one tenant to another still lists only the other's own runs.

export { runListStatuses, type RunListItem, type RunListStatus } from '../shared/run-list';

export const runListQuerySchema = z.strictObject({
  status: z.enum(runListStatuses, { error: `status must be one of ${runListStatuses.join(', ')}` }).optional(),
  limit: z
    .string()
    .regex(/^\d{1,9}$/, 'limit must be a number from 1 to 100')
    .transform(Number)
    .pipe(z.number().min(1, 'limit must be at least 1').max(100, 'limit may be at most 100'))
    .default(20),
  cursor: z
    .string()
    .max(4096, 'cursor is too long')
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, 'cursor is not one this API gave')
    .optional(),
});

export type RunListQuery = z.infer<typeof runListQuerySchema>;

export { listMemo };
/** gRPC's INVALID_ARGUMENT. */
const invalidArgument = 3;

const statusQuery: Record<RunListStatus, string> = {
  running: `ExecutionStatus = 'Running'`,
  completed: `ExecutionStatus = 'Completed'`,
  // Temporal's own ends read as failed runs (GET says terminated or timed_out).
  failed: `ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')`,
  cancelled: `ExecutionStatus = 'Canceled'`,
};

const statusOf: Record<string, RunListStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  TERMINATED: 'failed',
  TIMED_OUT: 'failed',
  CANCELLED: 'cancelled',
};

/** Quotes a value for a visibility query: tenants are `[A-Za-z0-9_.-]`, but never trust that here. */
const quoted = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function parseRunListQuery(query: unknown): RunListQuery {
  const parsed = runListQuerySchema.safeParse(query);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error));
  return parsed.data;
}

/** Signs cursors (the API's stream-token key): Temporal gets back only page tokens it gave. */
export interface CursorSeal {
  seal(purpose: string, value: string): string;
  opens(purpose: string, value: string, mac: string): boolean;
}

export async function listRuns(
  client: Client,
  namespace: string,
  tenant: string,
  query: RunListQuery,
  sealer: CursorSeal,
): Promise<{ runs: RunListItem[]; nextCursor?: string }> {
  // A cursor is Temporal's page token and a MAC binding it to this tenant and filter: a made-up
  // or altered one never reaches Temporal (which answers garbage with an internal error).
  const purpose = `runs-list\0${tenant}\0${query.status ?? ''}`;
  let pageToken: Buffer | undefined;
  if (query.cursor) {
    const [token, mac] = query.cursor.split('.') as [string, string];
    if (!sealer.opens(purpose, token, mac)) throw new HttpError(400, 'invalid_cursor', 'cursor is not one this API gave for this list; start again without it');
    pageToken = Buffer.from(token, 'base64url');
  }
  // An execution that continued as new is not a run of its own: its run goes on in the next one.
  const conditions = [`WorkflowType = ${quoted(agentTurnWorkflowType)}`, `ExecutionStatus != 'ContinuedAsNew'`];
  conditions.push(`${tenantSearchAttribute.name} = ${quoted(tenant)}`);
  if (query.status) conditions.push(statusQuery[query.status]);
  let response;
  try {
    response = await client.workflowService.listWorkflowExecutions({
      namespace,
      pageSize: query.limit,
      // Temporal's own order (every visibility store; SQL stores take no ORDER BY): running
      // executions first, newest started first, then ended ones, most recently ended first.
      query: conditions.join(' AND '),
      ...(pageToken ? { nextPageToken: pageToken } : {}),
    });
  } catch (error) {
    // A token Temporal did not make (or one of another query) is the client's mistake.
    if (query.cursor && isGrpcServiceError(error) && error.code === invalidArgument) {
      throw new HttpError(400, 'invalid_cursor', 'cursor is not one this API gave for this list; start again without it');
    }
    throw error;
  }
  const runs: RunListItem[] = [];
  for (const raw of response.executions ?? []) {
    const info = await executionInfoFromRaw(raw, client.options.loadedDataConverter, undefined, namespace);
    const status = statusOf[info.status.name];
    if (!status) continue;
    const memo = info.memo ?? {};
    const runId = info.workflowId;
    runs.push({
      runId,
      status,
      startedAt: info.startTime.toISOString(),
      ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
      ...(typeof memo.model === 'string' ? { model: memo.model } : {}),
      ...(typeof memo.input === 'string' ? { input: memo.input } : {}),
      ...(info.parentExecution?.workflowId ? { sessionId: info.parentExecution.workflowId } : {}),
      links: { self: `/v1/runs/${runId}`, events: `/v1/runs/${runId}/events` },
    });
  }
  const token = response.nextPageToken;
  if (!token || token.length === 0) return { runs };
  const next = Buffer.from(token).toString('base64url');
  return { runs, nextCursor: `${next}.${sealer.seal(purpose, next)}` };
}
