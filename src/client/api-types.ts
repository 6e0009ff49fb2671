import type { Cost } from '../shared/prices';
import type { ChatMessage, PendingApproval, RunError, RunStatus, StepRecord, ToolPolicy, Usage } from '../shared/run-types';

// The shapes of the API's requests and answers (README, API). Types only: nothing here runs.

/** A run's status as the API reports it: `queued` until a worker takes it. */
export type ApiRunStatus = RunStatus | 'queued';

export interface CreateRunRequest {
  input: string;
  model?: string;
  system?: string;
  maxSteps?: number;
  maxTokens?: number;
  messages?: ChatMessage[];
  tools?: string[];
  contextTokens?: number;
  cache?: boolean;
}

export interface StreamToken {
  streamToken: string;
  /** ISO time. */
  streamTokenExpiresAt: string;
}

export interface CreatedRun extends StreamToken {
  runId: string;
  status: 'running';
  links: { self: string; events: string; temporalUi: string };
}

export interface MintedStreamToken extends StreamToken {
  runId: string;
  links: { events: string };
}

/** GET /v1/runs/:runId: one page of the run's steps (from `fromStep`; `nextStep` when more follow). */
export interface RunDetails {
  runId: string;
  status: ApiRunStatus;
  input: string;
  model: string;
  output?: string;
  usage: Usage;
  streaming?: { step: number; attempt: number; model: string; usage: Usage; estimated: true; cost?: Cost };
  maxTokens?: number;
  fraction?: number;
  cost?: Cost;
  error?: RunError;
  stepCount: number;
  pendingApprovals: PendingApproval[];
  fromStep: number;
  steps: Array<StepRecord & { cost?: Cost }>;
  nextStep?: number;
  links: { self: string; events: string; temporalUi: string; next?: string };
}

// GET /v1/runs (newest first): the one place to adjust when the listing's answer changes.
export type { RunListItem, RunListStatus } from '../shared/run-list';
import type { RunListItem, RunListStatus } from '../shared/run-list';

export interface ListRunsQuery {
  status?: RunListStatus;
  /** 1 to 100 (default 20). */
  limit?: number;
  /** `nextCursor` of the page before. */
  cursor?: string;
}

export interface RunList {
  runs: RunListItem[];
  nextCursor?: string;
}

/** GET /v1/runs/:runId/temporal-links: Temporal Web UI pages. */
export interface TemporalLinks {
  run: string;
  /** By step number. */
  steps: Record<string, string>;
  /** By tool call id. */
  calls: Record<string, string>;
}

export interface CancelledRun {
  runId: string;
  status: 'cancelling';
  links: { self: string; events: string; temporalUi: string };
}

export interface Decision {
  approve: boolean;
  reason?: string;
}

export interface DecidedCall {
  runId: string;
  callId: string;
  decision: 'approved' | 'denied' | 'timed_out';
}

export interface CreateSessionRequest {
  model?: string;
  system?: string;
  maxSteps?: number;
  maxTokens?: number;
  contextTokens?: number;
  cache?: boolean;
  tools?: string[];
}

export interface CreatedSession {
  sessionId: string;
  links: { self: string; messages: string };
}

export interface SessionMessage {
  input: string;
  maxSteps?: number;
  maxTokens?: number;
}

export interface SentMessage extends StreamToken {
  sessionId: string;
  runId: string;
  links: { run: string; events: string; session: string };
}

export interface Session {
  sessionId: string;
  /** The latest turns (at most 200), oldest first. */
  turns: Array<{ runId: string; input: string; status: RunStatus; output?: string }>;
  turnCount: number;
  generation: number;
  /** The run of the turn in progress. */
  running?: string;
  links: { self: string; messages: string };
}

export interface ToolInfo {
  name: string;
  description: string;
  source: 'built-in' | 'custom' | 'mcp';
  /** The JSON Schema the model sees. */
  parameters: Record<string, unknown>;
  policy: Omit<ToolPolicy, 'name'> & { idempotent: boolean; cacheTtlMs?: number };
  stats: { calls: number; p50Ms?: number; p90Ms?: number; samples?: number; errorRate: number; cacheHitRate: number; ran?: number };
}
