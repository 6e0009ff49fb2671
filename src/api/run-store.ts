import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { agentTurnWorkflowType, decideApprovalUpdate, runStateQuery } from '../workflows/definitions';
import type { AgentTurnInput, ApprovalDecision, ApprovalDecisionKind, RunState } from '../shared/run-types';

// The durable tier, read through Temporal: a run is a workflow whose id is the run id.

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`no run with id "${runId}"`);
    this.name = 'RunNotFoundError';
  }
}

/** The update's validator refused: the call is unknown or already decided. */
export class ApprovalNotPendingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalNotPendingError';
  }
}

export interface StartedRun {
  runId: string;
  /** Temporal's id of the execution, for Web UI links. */
  executionId: string;
  /** The first workflow task went straight to this process's worker. */
  eagerlyStarted: boolean;
}

export class RunStore {
  /**
   * @param eagerStart ask Temporal to hand the run's first workflow task straight to a worker of
   * this process (the client must be built on the worker's NativeConnection).
   */
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly eagerStart = false,
  ) {}

  async start(input: AgentTurnInput): Promise<StartedRun> {
    const runId = `run_${randomUUID()}`;
    const handle = await this.client.workflow.start(agentTurnWorkflowType, {
      workflowId: runId,
      taskQueue: this.taskQueue,
      args: [input],
      ...(this.eagerStart ? { requestEagerStart: true } : {}),
    });
    return { runId, executionId: handle.firstExecutionRunId, eagerlyStarted: handle.eagerlyStarted };
  }

  /** The run's state: live from the workflow while it runs, from its result or history after. */
  async getState(runId: string): Promise<RunState & { executionId: string }> {
    const handle = this.client.workflow.getHandle(runId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw error;
    }
    const executionId = description.runId;
    const status = description.status.name;
    if (status === 'COMPLETED') return { ...(await handle.result()), executionId };
    if (status === 'FAILED') {
      try {
        await handle.result();
      } catch (error) {
        const details = error instanceof WorkflowFailedError ? (error.cause as { details?: unknown[] } | undefined)?.details : undefined;
        const state = details?.[0] as RunState | undefined;
        if (state?.runId === runId) return { ...state, executionId };
      }
    }
    const state = await handle.query(runStateQuery);
    if (status === 'TERMINATED' || status === 'TIMED_OUT' || (status === 'FAILED' && state.status === 'running')) {
      const reason = status === 'TIMED_OUT' ? 'timed out' : status === 'TERMINATED' ? 'was terminated' : 'failed';
      return { ...state, executionId, status: 'failed', error: { code: status.toLowerCase(), message: `the run ${reason} in Temporal` } };
    }
    return { ...state, executionId };
  }

  /**
   * Resolves when the run's workflow closes, however it ends. While Temporal cannot be reached
   * (a restart), it keeps trying: an unreachable server is not a closed run.
   */
  async waitForClose(runId: string, signal?: AbortSignal): Promise<void> {
    for (let wait = 250; !signal?.aborted; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.client.workflow.getHandle(runId).result();
        return;
      } catch (error) {
        if (error instanceof WorkflowFailedError || error instanceof WorkflowNotFoundError) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Sends a human decision to the run (a Workflow Update, validated by the workflow). */
  async decide(runId: string, decision: ApprovalDecision): Promise<ApprovalDecisionKind> {
    try {
      const result = await this.client.workflow.getHandle(runId).executeUpdate(decideApprovalUpdate, { args: [decision] });
      return result.decision;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new ApprovalNotPendingError(error.cause?.message ?? error.message);
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw error;
    }
  }

  async cancel(runId: string): Promise<'cancelling' | 'not_running'> {
    const handle = this.client.workflow.getHandle(runId);
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return 'not_running';
      await handle.cancel();
      return 'cancelling';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw error;
    }
  }
}
