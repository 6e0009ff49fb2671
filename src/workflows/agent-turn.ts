import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LlmStepActivity } from '../activities';
import {
  addUsage,
  emptyUsage,
  type AgentTurnInput,
  type ChatMessage,
  type LlmStepRecord,
  type RunState,
  turnMessages,
} from '../shared/run-types';
import { registerApprovalHandler, runApprovalStep } from './approvals';
import { failureTypes, maxStepsCap, runStateQuery } from './definitions';
import { failureMessage, runToolStep, runToolStepSequentially } from './tool-step';

// One agent turn: model step, then the tool calls it asked for, results back to the model, until
// it answers without tools or maxSteps model steps have run. Deterministic: all I/O is in activities.

const modelRetry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['ModelRequestRejected'],
};
const { llmStep } = proxyActivities<{ llmStep: LlmStepActivity }>({
  startToCloseTimeout: '10 minutes',
  // The activity heartbeats every second, also while the model is silent, so a worker that dies
  // is noticed within 5 s and the step retried elsewhere (see docs/architecture.md).
  heartbeatTimeout: '5 seconds',
  retry: modelRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** What a cancelled activity handed over (llmStep: the text it had streamed). */
function cancelledDetails(error: unknown): { partialText?: unknown } | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  return cause instanceof CancelledFailure ? (cause.details[0] as { partialText?: unknown } | undefined) : undefined;
}

export async function agentTurn(input: AgentTurnInput): Promise<RunState> {
  const runId = workflowInfo().workflowId;
  const maxSteps = Math.max(1, Math.min(input.maxSteps, maxStepsCap));
  // What the model is sent: this context, then the turn so far, rebuilt from the steps (the state
  // and the result do not hold the conversation a second time).
  const context: ChatMessage[] = [...(input.system ? [{ role: 'system' as const, content: input.system }] : []), ...(input.messages ?? [])];
  const state: RunState = { runId, input: input.input, model: input.model, status: 'running', steps: [], stepCount: 0, usage: emptyUsage() };
  setHandler(runStateQuery, () => state);
  registerApprovalHandler(state);

  try {
    for (let modelSteps = 0; modelSteps < maxSteps; modelSteps++) {
      const record: LlmStepRecord = { step: state.steps.length + 1, kind: 'llm', status: 'running' };
      state.stepCount = state.steps.push(record);
      const messages = [...context, ...turnMessages(state)];
      const result = await llmStep({ runId, step: record.step, model: input.model, messages, tools: input.tools });
      Object.assign(record, {
        status: 'completed',
        attempt: result.attempt,
        text: result.text,
        toolCalls: result.toolCalls,
        usage: result.usage,
        finishReason: result.finishReason,
      });
      state.usage = addUsage(state.usage, result.usage);
      if (result.toolCalls.length === 0) {
        state.status = 'completed';
        state.output = result.text;
        return state;
      }
      // Runs recorded before parallel tool calls ran them one by one through `runTool`.
      if (patched('parallel-tool-calls')) {
        const decisions = await runApprovalStep(state, input, result.toolCalls);
        await runToolStep(state, input, result.toolCalls, decisions);
      } else await runToolStepSequentially(state, result.toolCalls);
    }
    const message = `the model was still calling tools after ${maxSteps} model steps (maxSteps)`;
    state.status = 'failed';
    state.error = { code: 'max_steps_exceeded', message };
    throw ApplicationFailure.create({ type: failureTypes.maxStepsExceeded, message, nonRetryable: true, details: [state] });
  } catch (error) {
    if (isCancellation(error)) {
      state.status = 'cancelled';
      const current = state.steps.at(-1);
      const partialText = cancelledDetails(error)?.partialText;
      if (current?.kind === 'llm' && current.status === 'running' && typeof partialText === 'string') current.partialText = partialText;
      throw error;
    }
    if (error instanceof ApplicationFailure && error.type === failureTypes.maxStepsExceeded) throw error;
    const message = failureMessage(error);
    state.status = 'failed';
    state.error = { code: 'model_step_failed', message };
    throw ApplicationFailure.create({ type: failureTypes.runFailed, message, nonRetryable: true, details: [state] });
  }
}

