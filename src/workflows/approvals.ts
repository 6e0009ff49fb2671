import { condition, setHandler } from '@temporalio/workflow';
import type { AgentTurnInput, ApprovalCallRecord, ApprovalStepRecord, RunState, ToolCall } from '../shared/run-types';
import { decideApprovalUpdate } from './definitions';

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
      return { callId, decision: call.decision };
    },
    {
      validator: ({ callId }) => {
        if (!waitingCall(state, callId)) throw new Error(`no call "${callId}" is waiting for approval (unknown, or already decided)`);
      },
    },
  );
}

/** Returns the decisions by call id; an empty map when no call needs approval. */
export async function runApprovalStep(state: RunState, input: AgentTurnInput, toolCalls: ToolCall[]): Promise<Map<string, ApprovalCallRecord>> {
  const needing = new Set((input.toolPolicies ?? []).filter((policy) => policy.needsApproval).map((policy) => policy.name));
  const calls = toolCalls.filter((call) => needing.has(call.name) && input.tools.includes(call.name));
  if (calls.length === 0) return new Map();
  const timeoutMs = input.approvalTimeoutMs ?? defaultTimeoutMs;
  const record: ApprovalStepRecord = {
    step: state.steps.length + 1,
    kind: 'approval',
    status: 'running',
    calls: calls.map((call) => ({ callId: call.id, name: call.name, arguments: call.arguments })),
    events: calls.map((_call, callIndex) => ({ type: 'requested', callIndex })),
    // Date.now() is the workflow's deterministic clock here.
    deadline: new Date(Date.now() + timeoutMs).toISOString(),
  };
  state.stepCount = state.steps.push(record);
  const allDecided = await condition(() => record.calls.every((call) => call.decision), timeoutMs);
  if (!allDecided) {
    record.calls.forEach((call, callIndex) => {
      if (call.decision) return;
      call.decision = 'timed_out';
      record.events.push({ type: 'decided', callIndex });
    });
  }
  record.status = 'completed';
  return new Map(record.calls.map((call) => [call.callId, call]));
}
