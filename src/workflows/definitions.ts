import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalDecisionKind, RunState } from '../shared/run-types';

// Messages of the agent-turn workflow, defined once for the workflow, the API and the tests.

export const agentTurnWorkflowType = 'agentTurn';

/** The durable state of a run: completed steps, the step in flight, the end. */
export const runStateQuery = defineQuery<RunState>('runState');

/** A human decides a call that needs approval; rejected unless that call is waiting. */
export const decideApprovalUpdate = defineUpdate<{ callId: string; decision: ApprovalDecisionKind }, [ApprovalDecision]>('decideApproval');

export const failureTypes = {
  maxStepsExceeded: 'MaxStepsExceeded',
  runFailed: 'RunFailed',
} as const;

/** Hard upper bound on maxSteps whatever the caller asks. */
export const maxStepsCap = 1000;
