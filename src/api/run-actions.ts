import type { ApprovalDecisionKind } from '../shared/run-types';
import { HttpError } from './errors';
import type { RunAdmission } from './run-admission';
import { idPattern, turnSettings, type RunDefaults } from './run-defaults';
import type { RunView } from './run-reader';
import { maxStartPayloadChars, type RunRequest } from './run-request';
import { ApprovalNotPendingError, RunNotFoundError, type RunStore, type StartedRun } from './run-store';

// What a caller does to runs, whichever edge it comes through (REST in runs-router.ts, MCP in
// src/api/mcp/): the checks and their errors are written once. Errors are HttpErrors; the MCP
// edge turns their code and message into tool errors.

export interface RunActionsOptions extends RunDefaults {
  store: RunStore;
  /** MAX_RUNNING_RUNS_PER_TENANT. */
  admission?: RunAdmission;
}

const notFound = (runId: string) => new HttpError(404, 'run_not_found', `no run with id "${runId.slice(0, 200)}"`);

/** Starts a run of a body that passed runRequestSchema, for `tenant`: size limits, model checks, the tenant's cap. */
export async function startRun(options: RunActionsOptions, body: RunRequest, tenant: string): Promise<StartedRun> {
  const { limits } = options;
  if (body.input.length > limits.maxInputChars) {
    throw new HttpError(413, 'input_too_large', `input has ${body.input.length} characters; the limit is ${limits.maxInputChars}`);
  }
  const input = { ...turnSettings(options, body), input: body.input, messages: body.messages };
  const size = JSON.stringify(input).length;
  if (size > maxStartPayloadChars) {
    throw new HttpError(413, 'input_too_large', `input, system and messages take ${size} characters together; the limit is ${maxStartPayloadChars}`);
  }
  await options.admission?.admit(tenant);
  return options.store.start(input, tenant).catch((error: unknown) => {
    options.admission?.release(tenant);
    throw error;
  });
}

/**
 * Reads a run for a caller: an id this API could have made, and a run of the caller's tenant
 * (`tenant` undefined: an open API, no ownership). Another tenant's run does not exist for it.
 */
export async function readOwnedRun(runId: string, tenant: string | undefined, read: (runId: string) => Promise<RunView>): Promise<RunView> {
  if (!idPattern.test(runId)) throw notFound(runId);
  try {
    const view = await read(runId);
    if (tenant !== undefined && view.tenant !== tenant) throw notFound(runId);
    return view;
  } catch (error) {
    if (error instanceof RunNotFoundError) throw new HttpError(404, 'run_not_found', error.message);
    throw error;
  }
}

/** Sends a human decision on a call of a run the caller may read. */
export async function decideApproval(store: RunStore, state: RunView, callId: string, decision: { approve: boolean; reason?: string }): Promise<ApprovalDecisionKind> {
  if (state.status === 'queued') throw new HttpError(409, 'approval_not_pending', `run "${state.runId}" has not started yet: nothing waits for a decision`);
  if (state.status !== 'running') throw new HttpError(409, 'run_not_running', `run "${state.runId}" has already ended (${state.status})`);
  try {
    return await store.decide(state.runId, { callId, approve: decision.approve, ...(decision.reason ? { reason: decision.reason } : {}) });
  } catch (error) {
    if (error instanceof ApprovalNotPendingError) throw new HttpError(409, 'approval_not_pending', error.message);
    throw error;
  }
}

/** Calls waiting for a human decision (runs recorded before the summary listed them). */
export function pendingApprovals(state: RunView) {
  if (state.pendingApprovals.length > 0 || state.status !== 'running') return state.pendingApprovals;
  return state.steps.flatMap((step) =>
    step.kind === 'approval' && step.status === 'running'
      ? step.calls.filter((call) => !call.decision).map((call) => ({ step: step.step, callId: call.callId, name: call.name, arguments: call.arguments, deadline: step.deadline }))
      : [],
  );
}
