import {
  ActivityCancellationType,
  ActivityFailure,
  isCancellation,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { ToolActivity } from '../activities';
import type {
  AgentTurnInput,
  ApprovalCallRecord,
  RunState,
  ToolActivityInput,
  ToolActivityResult,
  ToolCall,
  ToolPolicy,
  ToolStepRecord,
} from '../shared/run-types';
import { toolStepResultBytes } from './definitions';
import { addStep } from './run-state';
import { showProgress, toolCallSummary } from './run-details';

// The tools step of an agent turn: every call of a model message as its own activity, in
// parallel, bounded; outcomes recorded as they complete, results to the model in call order.

export const defaultToolPolicy: Omit<ToolPolicy, 'name'> = {
  timeoutMs: 60_000,
  maximumAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 10_000,
  needsApproval: false,
};

/** The activity for one tool's calls, `tool:<name>`, under that tool's timeout and retry policy. */
function toolActivity(activityType: string, policy: Omit<ToolPolicy, 'name'>, summary?: string): ToolActivity {
  const activities = proxyActivities<Record<string, ToolActivity>>({
    // What the Web UI shows for the activity (`calculator: 12*7`).
    ...(summary ? { summary } : {}),
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

export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

function newToolStep(state: RunState, toolCalls: ToolCall[]): ToolStepRecord {
  return addStep<ToolStepRecord>(state, {
    step: state.stepCount + 1,
    kind: 'tools',
    status: 'running',
    calls: toolCalls.map((call) => ({ callId: call.id, name: call.name, arguments: call.arguments, status: 'pending' })),
    events: [],
  });
}

function tenantOfRun(): { tenant?: string } {
  const tenant = workflowInfo().memo?.tenant;
  return typeof tenant === 'string' ? { tenant } : {};
}

/** Runs one call and records its outcome; a failure becomes a result the model reads. */
async function runCall(
  state: RunState,
  record: ToolStepRecord,
  callIndex: number,
  run: (input: ToolActivityInput) => Promise<ToolActivityResult>,
  maximumAttempts: number,
  cache?: boolean,
) {
  const call = record.calls[callIndex]!;
  record.events.push({ type: 'started', callIndex });
  call.status = 'running';
  showProgress(state);
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
      // All results of a step together stay well under Temporal's limits, however many calls.
      maxResultBytes: Math.floor(toolStepResultBytes / record.calls.length),
      // The run's owner (its memo): cached results are kept apart per tenant.
      ...tenantOfRun(),
      ...(cache === false ? { cache } : {}),
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
    if (outcome.truncated) call.truncated = outcome.truncated;
    if (outcome.cached) call.cached = true;
  } else {
    call.status = 'failed';
    call.error = outcome.error;
  }
  showProgress(state);
  // What it streamed, for readers that come late (the model reads the result, not this).
  if (outcome.output) call.output = outcome.output;
  if (outcome.outputTruncated) call.outputTruncated = outcome.outputTruncated;
  if (outcome.estimatedMs !== undefined && outcome.estimateSamples !== undefined) {
    call.estimatedMs = outcome.estimatedMs;
    call.estimateSamples = outcome.estimateSamples;
  }
}


/**
 * All calls of the message at once, at most toolConcurrency at a time, each its own activity with
 * its tool's policy. Outcomes are recorded as they complete; results go back in call order.
 */
export async function runToolStep(
  state: RunState,
  input: AgentTurnInput,
  toolCalls: ToolCall[],
  approvals: Map<string, ApprovalCallRecord> = new Map(),
): Promise<void> {
  const record = newToolStep(state, toolCalls);
  const policies = new Map((input.toolPolicies ?? []).map((policy) => [policy.name, policy]));
  const concurrency = Math.max(1, input.toolConcurrency ?? 8);
  let next = 0;
  const lane = async () => {
    while (next < record.calls.length) {
      const callIndex = next++;
      const { name, callId } = record.calls[callIndex]!;
      const approval = approvals.get(callId);
      if (approval && approval.decision !== 'approved') {
        const error =
          approval.decision === 'denied'
            ? `a reviewer denied this call${approval.reason ? `: ${approval.reason}` : ''}`
            : 'no reviewer approved this call in time';
        await runCall(state, record, callIndex, async () => ({ ok: false, error, attempts: 0 }), 0);
        continue;
      }
      if (!input.tools.includes(name)) {
        const known = input.tools.join(', ') || 'none';
        await runCall(state, record, callIndex, async () => ({ ok: false, error: `unknown tool "${name}"; tools: ${known}`, attempts: 0 }), 0);
        continue;
      }
      const policy = policies.get(name) ?? { ...defaultToolPolicy, name };
      await runCall(state, record, callIndex, toolActivity(`tool:${name}`, policy, toolCallSummary(record.calls[callIndex]!)), policy.maximumAttempts, input.cache);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, record.calls.length) }, lane));
  // Its results go to the model in call order (turnMessages).
  record.status = 'completed';
}

/** The first version: one call after another through the `runTool` activity. */
export async function runToolStepSequentially(state: RunState, toolCalls: ToolCall[]): Promise<void> {
  const record = newToolStep(state, toolCalls);
  const runTool = toolActivity('runTool', { ...defaultToolPolicy, timeoutMs: 120_000 });
  for (const callIndex of record.calls.keys()) await runCall(state, record, callIndex, runTool, defaultToolPolicy.maximumAttempts);
  record.status = 'completed';
}
