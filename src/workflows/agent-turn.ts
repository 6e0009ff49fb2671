import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addUsage,
  emptyUsage,
  type AgentTurnInput,
  type ChatMessage,
  type LlmStepRecord,
  type RunState,
  type ToolActivityResult,
  type ToolCall,
  type ToolStepRecord,
} from '../shared/run-types';
import { failureTypes, maxStepsCap, runStateQuery } from './definitions';

// One agent turn: model step, then the tool calls it asked for, results back to the model, until
// it answers without tools or maxSteps model steps have run. Deterministic: all I/O is in activities.

const modelRetry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['ModelRequestRejected'],
};
const toolRetry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 };

const { llmStep } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  // The activity heartbeats every second, also while the model is silent: a dead worker is noticed fast.
  heartbeatTimeout: '15 seconds',
  retry: modelRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

const { runTool } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: toolRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

const asMessageToolCall = (call: ToolCall) => ({
  id: call.id,
  type: 'function' as const,
  function: { name: call.name, arguments: call.arguments },
});

export async function agentTurn(input: AgentTurnInput): Promise<RunState> {
  const runId = workflowInfo().workflowId;
  const maxSteps = Math.max(1, Math.min(input.maxSteps, maxStepsCap));
  const messages: ChatMessage[] = [
    ...(input.system ? [{ role: 'system' as const, content: input.system }] : []),
    ...(input.messages ?? []),
    { role: 'user', content: input.input },
  ];
  const state: RunState = { runId, input: input.input, model: input.model, status: 'running', steps: [], stepCount: 0, messages, usage: emptyUsage() };
  setHandler(runStateQuery, () => state);

  try {
    for (let modelSteps = 0; modelSteps < maxSteps; modelSteps++) {
      const record: LlmStepRecord = { step: state.steps.length + 1, kind: 'llm', status: 'running' };
      state.stepCount = state.steps.push(record);
      const result = await llmStep({ runId, step: record.step, model: input.model, messages: state.messages, tools: input.tools });
      Object.assign(record, {
        status: 'completed',
        attempt: result.attempt,
        text: result.text,
        toolCalls: result.toolCalls,
        usage: result.usage,
        finishReason: result.finishReason,
      });
      state.usage = addUsage(state.usage, result.usage);
      state.messages.push({
        role: 'assistant',
        content: result.text || null,
        ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls.map(asMessageToolCall) } : {}),
      });
      if (result.toolCalls.length === 0) {
        state.status = 'completed';
        state.output = result.text;
        return state;
      }
      await runToolStep(state, result.toolCalls);
    }
    const message = `the model was still calling tools after ${maxSteps} model steps (maxSteps)`;
    state.status = 'failed';
    state.error = { code: 'max_steps_exceeded', message };
    throw ApplicationFailure.create({ type: failureTypes.maxStepsExceeded, message, nonRetryable: true, details: [state] });
  } catch (error) {
    if (isCancellation(error)) {
      state.status = 'cancelled';
      throw error;
    }
    if (error instanceof ApplicationFailure && error.type === failureTypes.maxStepsExceeded) throw error;
    const message = failureMessage(error);
    state.status = 'failed';
    state.error = { code: 'model_step_failed', message };
    throw ApplicationFailure.create({ type: failureTypes.runFailed, message, nonRetryable: true, details: [state] });
  }
}

/** Runs the calls one after another; each result goes back to the model, failures included. */
async function runToolStep(state: RunState, toolCalls: ToolCall[]): Promise<void> {
  const record: ToolStepRecord = {
    step: state.steps.length + 1,
    kind: 'tools',
    status: 'running',
    calls: toolCalls.map((call) => ({ callId: call.id, name: call.name, arguments: call.arguments, status: 'pending' })),
    events: [],
  };
  state.stepCount = state.steps.push(record);
  for (const [callIndex, call] of record.calls.entries()) {
    record.events.push({ type: 'started', callIndex });
    call.status = 'running';
    const startedSeq = record.events.length;
    let outcome: ToolActivityResult;
    try {
      outcome = await runTool({
        runId: state.runId,
        step: record.step,
        callId: call.callId,
        name: call.name,
        arguments: call.arguments,
        startedSeq,
        finishedSeq: startedSeq + 1,
      });
    } catch (error) {
      if (isCancellation(error)) throw error;
      outcome = { ok: false, error: failureMessage(error), attempts: toolRetry.maximumAttempts };
    }
    record.events.push({ type: 'finished', callIndex });
    call.attempts = outcome.attempts;
    if (outcome.ok) {
      call.status = 'completed';
      call.result = outcome.result;
    } else {
      call.status = 'failed';
      call.error = outcome.error;
    }
    state.messages.push({
      role: 'tool',
      tool_call_id: call.callId,
      content: outcome.ok ? outcome.result : `Error: ${outcome.error}`,
    });
  }
  record.status = 'completed';
}
