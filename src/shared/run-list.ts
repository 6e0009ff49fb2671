// One run in GET /v1/runs (src/api/run-list.ts), as the API sends it and the client reads it.

/** What a list can filter on; `running` includes runs no worker has taken yet (`queued` in GET). */
export const runListStatuses = ['running', 'completed', 'failed', 'cancelled'] as const;
export type RunListStatus = (typeof runListStatuses)[number];

export interface RunListItem {
  runId: string;
  status: RunListStatus;
  /** ISO times. */
  startedAt: string;
  closedAt?: string;
  /** The model and the start of the task, for runs started since lists (their memo). */
  model?: string;
  input?: string;
  /** A session's turn: the session it belongs to. */
  sessionId?: string;
  links: { self: string; events: string };
}
