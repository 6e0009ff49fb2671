import { condition, setHandler } from '@temporalio/workflow';
import type { AgentTurnInput, ApprovalCallRecord, ApprovalStepRecord, RunState, ToolCall } from '../shared/run-types';
import { decideApprovalUpdate } from './definitions';
import { showProgress } from './run-details';
import { addStep } from './run-state';

// Human approval: calls of tools marked needsApproval wait, durably and for free, for a decision
// (the decideApproval update) or the deadline, before any call of their message runs.

const defaultTimeoutMs = 24 * 60 * 60 * 1000;

function waitingCall(state: RunState, callId: string): { record: ApprovalStepRecord; call: ApprovalCallRecord; index: number } | undefined {
  const record = state.steps.at(-1);
  if (record?.kind !== 'approval' || record.status !== 'running') return undefined;
  const index = record.calls.findIndex((call) => call.callId === callId && !call.decision);
  return index < 0 ? undefined : { record, call: record.calls[index]!, index };
}

export function registerApprovalHandler(state: RunState): void {
  setHandler(
    decideApprovalUpdate,
    ({ callId, approve, reason }) => {
      const { record, call, index } = waitingCall(state, callId)!;
      call.decision = approve ? 'approved' : 'denied';
      if (reason) call.reason = reason;
      record.events.push({ type: 'decided', callIndex: index });
      showProgress(state);
      return { callId, decision: call.decision };
    },
    {
      validator: ({ callId }) => {
        if (!waitingCall(state, callId)) throw new Error(`no call "${callId}" is waiting for approval (unknown, or already decided)`);
      },
    },
  );
}

/**
 * While a wait goes on, the history can fill up (decisions are updates, each adds events): then
 * `continueAsNew` is called with the waiting step, and the wait goes on in the new execution.
 */
export interface ApprovalWaitOptions {
  historyFull?: () => boolean;
  continueAsNew?: (record: ApprovalStepRecord) => Promise<never>;
}

/** Returns the decisions by call id; an empty map when no call needs approval. */
export async function runApprovalStep(state: RunState, input: AgentTurnInput, toolCalls: ToolCall[], options: ApprovalWaitOptions = {}): Promise<Map<string, ApprovalCallRecord>> {
  const needing = new Set((input.toolPolicies ?? []).filter((policy) => policy.needsApproval).map((policy) => policy.name));
  const calls = toolCalls.filter((call) => needing.has(call.name) && input.tools.includes(call.name));
  if (calls.length === 0) return new Map();
  const timeoutMs = input.approvalTimeoutMs ?? defaultTimeoutMs;
  const record = addStep<ApprovalStepRecord>(state, {
    step: state.stepCount + 1,
    kind: 'approval',
    status: 'running',
    calls: calls.map((call) => ({ callId: call.id, name: call.name, arguments: call.arguments })),
    events: calls.map((_call, callIndex) => ({ type: 'requested', callIndex })),
    // Date.now() is the workflow's deterministic clock here.
    deadline: new Date(Date.now() + timeoutMs).toISOString(),
  });
  return awaitDecisions(record, options);
}

/** An approval step carried over from the execution before: same step, same deadline. */
export async function resumeApprovalStep(state: RunState, carried: ApprovalStepRecord, options: ApprovalWaitOptions = {}): Promise<Map<string, ApprovalCallRecord>> {
  const record = addStep<ApprovalStepRecord>(state, { ...carried, calls: carried.calls.map((call) => ({ ...call })), events: [...carried.events] });
  return awaitDecisions(record, options);
}

async function awaitDecisions(record: ApprovalStepRecord, options: ApprovalWaitOptions): Promise<Map<string, ApprovalCallRecord>> {
  const decided = () => record.calls.every((call) => call.decision);
  const { historyFull, continueAsNew } = options;
  const remaining = Math.max(0, Date.parse(record.deadline) - Date.now());
  const woken = remaining > 0 && (await condition(() => decided() || (continueAsNew !== undefined && historyFull !== undefined && historyFull()), remaining));
  if (woken && !decided()) await continueAsNew!(record);
  if (!decided()) {
    record.calls.forEach((call, callIndex) => {
      if (call.decision) return;
      call.decision = 'timed_out';
      record.events.push({ type: 'decided', callIndex });
    });
  }
  record.status = 'completed';
  return new Map(record.calls.map((call) => [call.callId, call]));
}
