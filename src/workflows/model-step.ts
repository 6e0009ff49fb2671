import { ActivityCancellationType, ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { LlmStepActivity } from '../activities';
import { modelStepSummary } from './run-details';
import type { LlmStepInput, LlmStepResult, ModelFallbacks } from '../shared/run-types';

// A model step: the run's model, then (MODEL_FALLBACKS) the next model while the one before stays
// unavailable after its attempts. Each model is an activity of its own whose input names it, so
// the history says who was asked and who answered; which model comes next depends only on the
// failures recorded in the history, so a replay makes the same choice. A rejected request
// (ModelRequestRejected, ContextWindowExceeded) or a cancellation goes no further: another model
// would be sent the same request. Runs without fallbacks schedule exactly what they did before.

const modelRetry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['ModelRequestRejected', 'ContextWindowExceeded'],
};
const stepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // The activity heartbeats every second, also while the model is silent, so a worker that dies
  // is noticed within 5 s and the step retried elsewhere (see docs/architecture.md).
  heartbeatTimeout: '5 seconds',
  retry: modelRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/** How much of the last failure's message a fallback's announcement quotes. */
const reasonChars = 300;

/** Failures another model may not have: the provider unavailable, or its attempts timed out. */
function unavailable(error: unknown): error is ActivityFailure {
  if (!(error instanceof ActivityFailure)) return false;
  const cause = error.cause;
  return (cause instanceof ApplicationFailure && cause.type === 'ModelUnavailable') || cause instanceof TimeoutFailure;
}

export interface ModelStepOutcome {
  result: LlmStepResult;
  /** The model that answered. */
  model: string;
  /** Said to readers when the answering attempt was a fallback's first. */
  retryReason?: string;
}

export async function runModelStep(stepInput: LlmStepInput, fallbacks: ModelFallbacks | undefined): Promise<ModelStepOutcome> {
  // Each model step's activity says which step and model it is in the Web UI.
  if (!fallbacks || fallbacks.models.length === 0) {
    const { llmStep } = proxyActivities<{ llmStep: LlmStepActivity }>({ ...stepOptions, summary: modelStepSummary(stepInput.step, stepInput.model) });
    return { result: await llmStep(stepInput), model: stepInput.model };
  }
  const { attempts } = fallbacks;
  const candidates = [stepInput.model, ...fallbacks.models];
  let retryReason: string | undefined;
  for (let index = 0; ; index++) {
    const model = candidates[index]!;
    const step = proxyActivities<{ llmStep: LlmStepActivity }>({ ...stepOptions, retry: { ...modelRetry, maximumAttempts: attempts }, summary: modelStepSummary(stepInput.step, model) }).llmStep;
    // Attempts number on across the models: event positions (step.attempt.offset) never repeat.
    const attemptBase = index * attempts;
    try {
      const result = await step({ ...stepInput, model, ...(index > 0 ? { attemptBase, retryReason } : {}) });
      return { result, model, ...(retryReason && result.attempt === attemptBase + 1 ? { retryReason } : {}) };
    } catch (error) {
      if (index === candidates.length - 1 || !unavailable(error)) throw error;
      const tried = error.retryState === 'MAXIMUM_ATTEMPTS_REACHED' ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
      // The reason rides in the next activity's input, an event and the step's record: bounded.
      const said = error.cause?.message ?? error.message;
      const last = said.length > reasonChars ? `${said.slice(0, reasonChars)}…` : said;
      retryReason = `${model} stayed unavailable${tried} (${last}); falling back to ${candidates[index + 1]}: discard this step's partial text`;
    }
  }
}
