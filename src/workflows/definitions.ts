import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { AgentTurnInput, ApprovalDecision, ApprovalDecisionKind, ChatMessage, HistoryLimits, RunState, StepPage, StepPageRequest } from '../shared/run-types';

// Messages of the agent-turn workflow, defined once for the workflow, the API and the tests.

export const agentTurnWorkflowType = 'agentTurn';

/**
 * The durable state of a run as this execution holds it. Kept for readers of runs recorded
 * before bounded histories; a long run's state can pass Temporal's 2 MB limit, so reads use
 * runPage.
 */
export const runStateQuery = defineQuery<RunState>('runState');

/** One page of the steps this execution holds, with the run's summary. */
export const runPageQuery = defineQuery<StepPage, [StepPageRequest]>('runPage');

/**
 * When a run continues as new (between steps, or during an approval wait): well before Temporal's
 * warnings (10,240 events, 10 MB), so that the largest step (toolStepResultBytes) still fits.
 */
export const defaultHistoryLimits: HistoryLimits = { events: 4000, bytes: 4 * 1024 * 1024 };

/** All results of one tools step together: each call gets an equal share of this at most. */
export const toolStepResultBytes = 2 * 1024 * 1024;

/** A human decides a call that needs approval; rejected unless that call is waiting. */
export const decideApprovalUpdate = defineUpdate<{ callId: string; decision: ApprovalDecisionKind }, [ApprovalDecision]>('decideApproval');

export const failureTypes = {
  maxStepsExceeded: 'MaxStepsExceeded',
  maxTokensExceeded: 'MaxTokensExceeded',
  runFailed: 'RunFailed',
} as const;

/** Codes of run.failed errors that the workflow sets (Temporal's own ends add terminated, timed_out). */
export const runErrorCodes = {
  maxStepsExceeded: 'max_steps_exceeded',
  maxTokensExceeded: 'max_tokens_exceeded',
  modelStepFailed: 'model_step_failed',
  contextWindowExceeded: 'context_window_exceeded',
} as const;

/** Hard upper bound on maxSteps whatever the caller asks. */
export const maxStepsCap = 1000;

export const sessionWorkflowType = 'session';

export interface SessionTurn {
  runId: string;
  /** The first 200 characters of the message. */
  input: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  output?: string;
}

export interface SessionInput {
  /** Everything of each turn's input but the message and the context. */
  turn: Omit<AgentTurnInput, 'input' | 'messages'>;
  /** Characters of earlier conversation a turn sees (whole turns, newest first). */
  contextChars: number;
  /** History events after which the session continues as new between turns. */
  historyLimit: number;
  /** Who owns the session: its turns' runs get the same memo. */
  tenant?: string;
  carried?: { messages: ChatMessage[]; turns: SessionTurn[]; turnCount: number; generation: number };
}

export interface SessionState {
  sessionId: string;
  /** The latest turns (at most 200 are kept). */
  turns: SessionTurn[];
  turnCount: number;
  /** How many times the session has continued as new. */
  generation: number;
  running?: string;
  tenant?: string;
}

export const sessionStateQuery = defineQuery<SessionState>('sessionState');

/** The update's refusal while the session continues as new; the caller sends it again. */
export const sessionContinuingMessage = 'the session is continuing as new; send the message again';

/** Starts the next turn. Returns the new run's id. */
export const sendMessageUpdate = defineUpdate<{ runId: string }, [{ input: string; maxSteps?: number; maxTokens?: number }]>('sendMessage');
