import type { EventPosition } from './event-position';
import type { ApprovalDecisionKind, ContextTrimReport, RunError, StepRecord, TruncationInfo, Usage } from './run-types';

type StepKind = StepRecord['kind'];

// The SSE protocol: one discriminated union on `event`. Every event's data carries runId and step.
// Ids are positions in the run (see event-position.ts), not counters of a connection.

interface Base {
  runId: string;
  step: number;
}

export interface ToolProgress {
  message?: string;
  /** 0..1 */
  fraction?: number;
  data?: unknown;
}

export type RunEventBody =
  | { event: 'run.started'; data: Base & { input: string; model: string } }
  /** No worker has taken the run yet (all busy, or none polling). Not a position: its id is the client's. */
  | { event: 'run.queued'; data: Base & { reason: string } }
  | { event: 'step.started'; data: Base & { kind: StepKind } }
  | { event: 'context.trimmed'; data: Base & { attempt: number } & ContextTrimReport }
  | { event: 'text.delta'; data: Base & { attempt: number; delta: string } }
  | { event: 'step.retrying'; data: Base & { attempt: number; reason: string } }
  | { event: 'tool.started'; data: Base & { callId: string; name: string; arguments: string; estimatedMs?: number; estimateSamples?: number } }
  | { event: 'tool.progress'; data: Base & { callId: string; name: string; progress: ToolProgress; etaMs?: number } }
  | { event: 'tool.completed'; data: Base & { callId: string; name: string; result: string; attempts: number; truncated?: TruncationInfo; cached?: true } }
  | { event: 'tool.failed'; data: Base & { callId: string; name: string; error: string; attempts: number } }
  | { event: 'approval.requested'; data: Base & { callId: string; name: string; arguments: string } }
  | { event: 'approval.decided'; data: Base & { callId: string; name: string; decision: ApprovalDecisionKind; reason?: string } }
  | { event: 'step.completed'; data: Base & { kind: StepKind; usage?: Usage } }
  | { event: 'run.completed'; data: Base & { output: string; usage: Usage } }
  | { event: 'run.failed'; data: Base & { error: RunError; usage: Usage } }
  | { event: 'run.cancelled'; data: Base & { partial: string; usage: Usage } };

/** An event as the live and durable tiers produce it: what it is and where it stands. */
export type StreamEvent = RunEventBody & { position: EventPosition };

/** An event as a client receives it; the id is the client's position after it. */
export type RunEvent = RunEventBody & { id: string };

export type RunEventName = RunEventBody['event'];
