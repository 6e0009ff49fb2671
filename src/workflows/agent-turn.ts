import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LlmStepActivity, ToolActivity } from '../activities';
import {
  addUsage,
  emptyUsage,
  type AgentTurnInput,
  type ChatMessage,
  type LlmStepRecord,
  type RunState,
  type ToolActivityResult,
  type ToolActivityInput,
  type ToolCall,
  type ToolPolicy,
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
const defaultToolPolicy: Omit<ToolPolicy, 'name'> = {
  timeoutMs: 60_000,
  maximumAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 10_000,
  needsApproval: false,
};

const { llmStep } = proxyActivities<{ llmStep: LlmStepActivity }>({
  startToCloseTimeout: '10 minutes',
  // The activity heartbeats every second, also while the model is silent, so a worker that dies
  // is noticed within 5 s and the step retried elsewhere (see docs/architecture.md).
  heartbeatTimeout: '5 seconds',
  retry: modelRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** The activity for one tool's calls, `tool:<name>`, under that tool's timeout and retry policy. */
function toolActivity(activityType: string, policy: Omit<ToolPolicy, 'name'>): ToolActivity {
  const activities = proxyActivities<Record<string, ToolActivity>>({
    startToCloseTimeout: policy.timeoutMs,
    // The activity heartbeats every second whatever the tool does.
    heartbeatTimeout: '5 seconds',
    retry: {
      maximumAttempts: policy.maximumAttempts,
      initialInterval: policy.initialIntervalMs,
      backoffCoefficient: policy.backoffCoefficient,
      maximumInterval: policy.maximumIntervalMs,
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return activities[activityType]!;
}

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
      // Runs recorded before parallel tool calls ran them one by one through `runTool`.
      if (patched('parallel-tool-calls')) await runToolStep(state, input, result.toolCalls);
      else await runToolStepSequentially(state, result.toolCalls);
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

function newToolStep(state: RunState, toolCalls: ToolCall[]): ToolStepRecord {
  const record: ToolStepRecord = {
    step: state.steps.length + 1,
    kind: 'tools',
    status: 'running',
    calls: toolCalls.map((call) => ({ callId: call.id, name: call.name, arguments: call.arguments, status: 'pending' })),
    events: [],
  };
  state.stepCount = state.steps.push(record);
  return record;
}

/** Runs one call and records its outcome; a failure becomes a result the model reads. */
async function runCall(state: RunState, record: ToolStepRecord, callIndex: number, run: (input: ToolActivityInput) => Promise<ToolActivityResult>, maximumAttempts: number) {
  const call = record.calls[callIndex]!;
  record.events.push({ type: 'started', callIndex });
  call.status = 'running';
  let outcome: ToolActivityResult;
  try {
    outcome = await run({
      runId: state.runId,
      step: record.step,
      callId: call.callId,
      name: call.name,
      arguments: call.arguments,
      callIndex,
      callCount: record.calls.length,
    });
  } catch (error) {
    if (isCancellation(error)) throw error;
    outcome = { ok: false, error: failureMessage(error), attempts: maximumAttempts };
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
}

function finishToolStep(state: RunState, record: ToolStepRecord) {
  for (const call of record.calls) {
    state.messages.push({
      role: 'tool',
      tool_call_id: call.callId,
      content: call.status === 'completed' ? (call.result ?? '') : `Error: ${call.error}`,
    });
  }
  record.status = 'completed';
}

/**
 * All calls of the message at once, at most toolConcurrency at a time, each its own activity with
 * its tool's policy. Outcomes are recorded as they complete; results go back in call order.
 */
async function runToolStep(state: RunState, input: AgentTurnInput, toolCalls: ToolCall[]): Promise<void> {
  const record = newToolStep(state, toolCalls);
  const policies = new Map((input.toolPolicies ?? []).map((policy) => [policy.name, policy]));
  const concurrency = Math.max(1, input.toolConcurrency ?? 8);
  let next = 0;
  const lane = async () => {
    while (next < record.calls.length) {
      const callIndex = next++;
      const name = record.calls[callIndex]!.name;
      if (!input.tools.includes(name)) {
        const known = input.tools.join(', ') || 'none';
        await runCall(state, record, callIndex, async () => ({ ok: false, error: `unknown tool "${name}"; tools: ${known}`, attempts: 0 }), 0);
        continue;
      }
      const policy = policies.get(name) ?? { ...defaultToolPolicy, name };
      await runCall(state, record, callIndex, toolActivity(`tool:${name}`, policy), policy.maximumAttempts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, record.calls.length) }, lane));
  finishToolStep(state, record);
}

/** The first version: one call after another through the `runTool` activity. */
async function runToolStepSequentially(state: RunState, toolCalls: ToolCall[]): Promise<void> {
  const record = newToolStep(state, toolCalls);
  const runTool = toolActivity('runTool', { ...defaultToolPolicy, timeoutMs: 120_000 });
  for (const callIndex of record.calls.keys()) {
    await runCall(state, record, callIndex, runTool, defaultToolPolicy.maximumAttempts);
    const call = record.calls[callIndex]!;
    state.messages.push({ role: 'tool', tool_call_id: call.callId, content: call.status === 'completed' ? (call.result ?? '') : `Error: ${call.error}` });
  }
  record.status = 'completed';
}
