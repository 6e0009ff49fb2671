import { randomUUID } from 'node:crypto';
import { TerminatedFailure, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { agentTurnWorkflowType, decideApprovalUpdate } from '../workflows/definitions';
import { listMemo } from './run-list';
import { runDetailsMarkdown, runSummaryLine } from '../shared/run-list';
import type { AgentTurnInput, ApprovalDecision, ApprovalDecisionKind, RunState, RunSummary } from '../shared/run-types';
import { RunNotFoundError } from './run-reader';
import { tenantSearchAttribute } from '../shared/search-attributes';

// Runs through Temporal: a run is a workflow whose id is the run id (its executions share it when
// it continues as new). Reading runs is run-reader.ts.

export { RunNotFoundError };

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
    /** Where people reach this API (PUBLIC_URL, or where it listens): the run's links in the Web UI. */
    private readonly publicUrl: () => string | undefined = () => undefined,
  ) {}

  /** @param tenant who owns the run (its memo): other tenants get 404. */
  async start(input: AgentTurnInput, tenant: string): Promise<StartedRun> {
    const runId = `run_${randomUUID()}`;
    const handle = await this.client.workflow.start(agentTurnWorkflowType, {
      workflowId: runId,
      taskQueue: this.taskQueue,
      args: [input],
      // The model and the task's start: what GET /v1/runs shows of each run (run-list.ts).
      memo: { tenant, ...listMemo(input) },
      typedSearchAttributes: [{ key: tenantSearchAttribute, value: tenant }],
      // What the Temporal Web UI says of the run: the task, its settings and links back here.
      staticSummary: runSummaryLine(input.input),
      staticDetails: runDetailsMarkdown(input, this.links(runId)),
      ...(this.eagerStart ? { requestEagerStart: true } : {}),
    });
    return { runId, executionId: handle.firstExecutionRunId, eagerlyStarted: handle.eagerlyStarted };
  }

  private links(runId: string): { api: string; console: string } | undefined {
    const base = this.publicUrl()?.replace(/\/+$/, '');
    return base ? { api: `${base}/v1/runs/${runId}`, console: `${base}/runs/${runId}` } : undefined;
  }

  /**
   * Resolves when the run's workflow closes, however it ends. While Temporal cannot be reached
   * (a restart), it keeps trying: an unreachable server is not a closed run. A run that
   * completed gives its result (readers build its last events from it: run-reader.ts fromEnd()).
   */
  async waitForClose(runId: string, signal?: AbortSignal): Promise<RunState | RunSummary | undefined> {
    for (let wait = 250; !signal?.aborted; wait = Math.min(wait * 2, 5000)) {
      try {
        // Follows the run across continue-as-new. A run that completed is closed for good.
        return (await this.client.workflow.getHandle(runId).result()) as RunState | RunSummary;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return;
        if (!(error instanceof WorkflowFailedError)) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        // Cancelled or failed by the run itself: closed for good.
        if (!(error.cause instanceof TerminatedFailure)) return;
      }
      // A run reset from the Temporal UI ends its execution (terminated) and goes on in a new one:
      // only a terminated execution can have been reset.
      try {
        const latest = await this.client.workflow.getHandle(runId).describe();
        if (latest.status.name !== 'RUNNING') return;
        wait = 125;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return;
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
