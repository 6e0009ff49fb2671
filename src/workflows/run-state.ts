import { workflowInfo } from '@temporalio/workflow';
import { showProgress } from './run-details';
import type { HistoryLimits, LlmStepRecord, PendingApproval, RunState, RunSummary, StepRecord } from '../shared/run-types';

// The run's state as one execution holds it: the steps it ran (numbered on from the steps of the
// executions before it) and the summary it returns, which leaves the steps' content where it was
// written once, in the activities' results.

/** Appends a step; its number is the next in the run. */
export function addStep<T extends StepRecord>(state: RunState, record: T): T {
  state.steps.push(record);
  state.stepCount = record.step;
  showProgress(state);
  return record;
}

export function summarize(state: RunState): RunSummary {
  const { steps: _steps, ...rest } = state;
  const firstStep = state.firstStep ?? 1;
  const current = { executionId: workflowInfo().runId, firstStep, lastStep: state.stepCount };
  return { ...rest, segments: [...(state.segments ?? []), current], ...(state.status === 'cancelled' ? { partial: partialTranscript(state) } : {}) };
}

/**
 * The text the model steps of this execution streamed, the cancelled one's partial text included
 * (a run that continued as new: since its last continue-as-new).
 */
function partialTranscript(state: RunState): string {
  return state.steps
    .filter((step): step is LlmStepRecord => step.kind === 'llm')
    .map((step) => (step.status === 'completed' ? (step.text ?? '') : (step.partialText ?? '')))
    .join('');
}

/** Calls waiting for a human decision. */
export function pendingApprovals(state: RunState): PendingApproval[] {
  return state.steps.flatMap((step) =>
    step.kind === 'approval' && step.status === 'running'
      ? step.calls.filter((call) => !call.decision).map((call) => ({ step: step.step, callId: call.callId, name: call.name, arguments: call.arguments, deadline: step.deadline }))
      : [],
  );
}

/** The history is long enough that the run should go on in a new execution. */
export function historyFull(limits: HistoryLimits): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= limits.events || info.historySize >= limits.bytes;
}
