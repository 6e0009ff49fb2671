import type { EventPosition } from './event-position';
import type { Cost } from './prices';
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

/** Data of usage.updated: a model step's tokens so far (see docs/architecture.md, Live usage and cost). */
export interface LiveUsage {
  attempt: number;
  /** The model answering this attempt (a fallback's, after one). */
  model: string;
  /** This step so far: prompt tokens as sent (fitted context), completion tokens of the text so far. */
  usage: Usage;
  estimated: true;
  /** The run's token budget (its maxTokens), when it has one. */
  maxTokens?: number;
  /** The run's tokens so far, this step's estimate included (with maxTokens). */
  runTokens?: number;
  /** runTokens / maxTokens (with maxTokens; above 1 once over budget). */
  fraction?: number;
  /** This step's estimate at the model's prices (MODEL_PRICES); absent for a model without a price. */
  cost?: Cost;
}

export type RunEventBody =
  | { event: 'run.started'; data: Base & { input: string; model: string } }
  /** No worker has taken the run yet (all busy, or none polling). Not a position: its id is the client's. */
  | { event: 'run.queued'; data: Base & { reason: string } }
  /**
   * `?from=latest` only, first: the stream starts at the live edge (no history). Not a position
   * of its own: its id is the edge, so a reconnect resumes from there.
   */
  | { event: 'stream.live'; data: Base }
  | { event: 'step.started'; data: Base & { kind: StepKind } }
  | { event: 'context.trimmed'; data: Base & { attempt: number } & ContextTrimReport }
  | { event: 'text.delta'; data: Base & { attempt: number; delta: string } }
  | { event: 'step.retrying'; data: Base & { attempt: number; reason: string } }
  /**
   * Live only, during a model step (throttled): the step's tokens so far, estimated. Not a
   * position: its id is that of the text it counted. Exact figures come with step.completed.
   */
  | { event: 'usage.updated'; data: Base & LiveUsage }
  | { event: 'tool.started'; data: Base & { callId: string; name: string; arguments: string; estimatedMs?: number; estimateSamples?: number } }
  | { event: 'tool.progress'; data: Base & { callId: string; name: string; progress: ToolProgress; etaMs?: number } }
  /** Output a tool streams as it works; a later attempt's output replaces an earlier one's. */
  | { event: 'tool.output.delta'; data: Base & { callId: string; name: string; attempt: number; delta: string } }
  | {
      event: 'tool.completed';
      data: Base & { callId: string; name: string; result: string; attempts: number; truncated?: TruncationInfo; cached?: true; outputTruncated?: TruncationInfo };
    }
  | { event: 'tool.failed'; data: Base & { callId: string; name: string; error: string; attempts: number; outputTruncated?: TruncationInfo } }
  | { event: 'approval.requested'; data: Base & { callId: string; name: string; arguments: string } }
  | { event: 'approval.decided'; data: Base & { callId: string; name: string; decision: ApprovalDecisionKind; reason?: string } }
  /** Model steps: their usage, cost (priced models) and time to first token (the worker's measure). */
  | { event: 'step.completed'; data: Base & { kind: StepKind; usage?: Usage; cost?: Cost; firstTokenMs?: number } }
  | { event: 'run.completed'; data: Base & { output: string; usage: Usage; cost?: Cost } }
  | { event: 'run.failed'; data: Base & { error: RunError; usage: Usage; cost?: Cost } }
  | { event: 'run.cancelled'; data: Base & { partial: string; usage: Usage; cost?: Cost } };

/** An event as the live and durable tiers produce it: what it is and where it stands. */
export type StreamEvent = RunEventBody & { position: EventPosition };

/** An event as a client receives it; the id is the client's position after it. */
export type RunEvent = RunEventBody & { id: string };

export type RunEventName = RunEventBody['event'];

/** The events that end a run's stream (run.started and run.queued do not). */
export const runEndEvents = ['run.completed', 'run.failed', 'run.cancelled'] as const satisfies readonly RunEventName[];
export const isRunEnd = (event: string | undefined): boolean => (runEndEvents as readonly string[]).includes(event ?? '');
