import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import type { PendingApproval, RunError, RunState, RunSummary, StepRecord } from '../shared/run-types';
import { stepSize } from '../shared/step-pages';
import { RunPages } from '../temporal/run-pages';
import { agentTurnWorkflowType } from '../workflows/definitions';

// The durable tier, read page by page: a run's summary and a window of its steps, from whichever
// executions hold them. Never one query result with the whole run (a long run's steps are
// megabytes), and every way a run can end is reported: Temporal's own ends (terminated from the
// UI or CLI, timed out) become a failed run with the reason.

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`no run with id "${runId}"`);
    this.name = 'RunNotFoundError';
  }
}

/** A run as a reader sees it: its summary and the steps from `fromStep` on, as many as fit. */
export interface RunView extends Omit<RunState, 'steps' | 'status'>, Pick<RunSummary, 'partial'> {
  /** queued: started in Temporal, but no worker has taken its first task yet. */
  status: RunState['status'] | 'queued';
  /** The latest execution (Web UI links). */
  executionId: string;
  steps: StepRecord[];
  /** Step number of steps[0] (or where they would start). */
  fromStep: number;
  /** Set when the window stopped before the run's last step: read on from here. */
  nextStep?: number;
  pendingApprovals: PendingApproval[];
  /** Who owns the run (its memo; runs started before tenants have none). */
  tenant?: string;
}

export interface ReadOptions {
  fromStep?: number;
  /** Content of the steps in the window, about (at least one step). */
  maxBytes?: number;
  /** Hears the run's describe (GET /v1/runs/:id reads a model step's usage estimate from its heartbeat details). */
  onDescribe?: (description: WorkflowExecutionDescription) => void;
}

const { EventType, HistoryEventFilterType, PendingActivityState, PendingWorkflowTaskState } = proto.temporal.api.enums.v1;
/** How long a run's first task or step waits for a worker before the run reads as queued. */
const queuedAfterMs = 250;

/** A run's history up to its first model step's scheduling, and no further. */
const startedEvents = [
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
];
const defaultWindowBytes = 1024 * 1024;

/** Runs recorded before bounded histories returned (and failed with) their whole state. */
const isWholeState = (value: RunState | RunSummary): value is RunState => Array.isArray(value.steps);

export class RunReader {
  readonly pages: RunPages;

  constructor(private readonly client: Client) {
    this.pages = new RunPages(client);
  }

  /** The run's latest execution, its Temporal status and its owner: one describe, no query. */
  async describe(runId: string): Promise<{ runId: string; executionId: string; status: string; tenant?: string }> {
    let description;
    try {
      description = await this.client.workflow.getHandle(runId).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw error;
    }
    if (description.type !== agentTurnWorkflowType) throw new RunNotFoundError(runId);
    const owner = description.memo?.tenant;
    return { runId, executionId: description.runId, status: description.status.name, ...(typeof owner === 'string' ? { tenant: owner } : {}) };
  }

  async read(runId: string, options: ReadOptions = {}): Promise<RunView> {
    const fromStep = Math.max(1, options.fromStep ?? 1);
    const maxBytes = options.maxBytes ?? defaultWindowBytes;
    const handle = this.client.workflow.getHandle(runId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      throw error;
    }
    // A session (or any other workflow) is not a run: its queries are not a run's.
    if (description.type !== agentTurnWorkflowType) throw new RunNotFoundError(runId);
    options.onDescribe?.(description);
    const executionId = description.runId;
    const status = description.status.name;
    const owner = description.memo?.tenant;
    const tenant = typeof owner === 'string' ? { tenant: owner } : {};
    const execution = this.client.workflow.getHandle(runId, executionId);
    // A run at its very start is read from its history, without a query (a query is a round trip
    // through a worker, and waits in the task queue with the run when no worker has taken it).
    const first = description.raw.workflowExecutionInfo?.firstRunId;
    if (status === 'RUNNING' && description.historyLength <= startedEvents.length && (!first || first === executionId)) {
      // Queued: its first workflow task, or its first model step, has waited a while for a worker
      // (all busy, WORKER_MAX_ACTIVITIES; or none polling). The milliseconds a free worker takes
      // to pick a task up are not worth a run.queued event.
      const waited = (time: Parameters<typeof optionalTsToMs>[0]) => Date.now() - (optionalTsToMs(time) ?? Date.now()) >= queuedAfterMs;
      const task = description.raw.pendingWorkflowTask;
      const activities = description.raw.pendingActivities ?? [];
      const step = activities.length === 1 ? activities[0] : undefined;
      const waiting = {
        task: task?.state === PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED && waited(task.scheduledTime),
        step: step?.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED && (step.attempt ?? 1) <= 1 && waited(step.scheduledTime),
        stepTaken: step !== undefined && step.state !== PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
      };
      const view = await this.atStart(runId, executionId, fromStep, waiting);
      if (view) return { ...view, ...tenant };
    }

    // A cancelled run's end, from the memo it wrote as it ended (runs since that memo).
    const ended = description.memo?.ended as RunSummary | undefined;
    if (status === 'CANCELLED' && ended?.status === 'cancelled' && ended.segments?.at(-1)?.executionId === executionId) {
      const view = this.fromEnd(ended, fromStep, maxBytes);
      if (view) return { ...view, ...tenant };
    }
    let summary: RunState | RunSummary | undefined;
    if (status === 'COMPLETED') {
      summary = (await execution.result()) as RunState | RunSummary;
      const view = this.fromEnd(summary, fromStep, maxBytes);
      if (view) return { ...view, ...tenant };
    }
    if (status === 'FAILED') summary = await failureDetails(execution, runId);
    let pendingApprovals: PendingApproval[] = [];
    let window: { steps: StepRecord[]; nextStep?: number } | undefined;
    if (!summary) {
      // Running, cancelled, or ended by Temporal itself: the workflow's own answer (a closed
      // execution's is replayed by a worker), with the first page of steps.
      const page = await this.pages.page(runId, executionId, { fromStep, maxBytes: Math.min(maxBytes, 256 * 1024) }, status !== 'RUNNING');
      summary = page.run;
      pendingApprovals = page.pendingApprovals;
      if (fromStep >= page.firstStep) {
        const steps = page.next?.call !== undefined ? page.steps.slice(0, -1) : page.steps;
        const nextStep = page.next ? page.next.step : undefined;
        if (nextStep === undefined || steps.length > 0) window = { steps, ...(nextStep !== undefined ? { nextStep } : {}) };
      }
    }
    window ??= await this.window(runId, summary, fromStep, maxBytes, status !== 'RUNNING');
    const view: RunView = { ...withoutSteps(summary), executionId, fromStep, ...window, pendingApprovals, ...tenant };
    if (status === 'TERMINATED' || status === 'TIMED_OUT' || (status === 'FAILED' && view.status === 'running')) {
      return { ...view, status: 'failed', error: await this.endedByTemporal({ workflowId: runId, runId: executionId }, status), pendingApprovals: [] };
    }
    if (status === 'CANCELLED') return { ...view, status: 'cancelled', pendingApprovals: [] };
    return view;
  }

  /**
   * A run that ended, read from its end summary alone (a completed run's result, a cancelled
   * run's memo) when the steps asked for are in its tail (or past its end): no query, which a
   * closed execution answers only by replaying on a worker. Undefined when they are not (ends
   * recorded before tails, steps beyond the tail's size).
   */
  fromEnd(result: RunState | RunSummary, fromStep = 1, maxBytes = defaultWindowBytes): RunView | undefined {
    if (isWholeState(result) || (result.status !== 'completed' && result.status !== 'cancelled')) return undefined;
    const executionId = result.segments.at(-1)?.executionId;
    const tail = result.tail ?? [];
    const start = Math.max(1, fromStep);
    if (!executionId || (start <= result.stepCount && !(tail.length > 0 && tail[0]!.step <= start))) return undefined;
    const steps: StepRecord[] = [];
    let used = 0;
    let nextStep: number | undefined;
    for (const step of tail) {
      if (step.step < start) continue;
      if (steps.length > 0 && used + stepSize(step) > maxBytes) {
        nextStep = step.step;
        break;
      }
      steps.push(step);
      used += stepSize(step);
    }
    return { ...withoutSteps(result), executionId, fromStep: start, steps, ...(nextStep !== undefined ? { nextStep } : {}), pendingApprovals: [] };
  }

  private async window(runId: string, summary: RunState | RunSummary, fromStep: number, maxBytes: number, closed: boolean): Promise<{ steps: StepRecord[]; nextStep?: number }> {
    if (isWholeState(summary)) {
      const steps: StepRecord[] = [];
      let used = 0;
      for (const step of summary.steps.slice(fromStep - 1)) {
        if (steps.length > 0 && used + stepSize(step) > maxBytes) return { steps, nextStep: step.step };
        steps.push(step);
        used += stepSize(step);
      }
      return { steps };
    }
    const steps: StepRecord[] = [];
    for await (const { record } of this.pages.steps(runId, summary.segments, fromStep, { maxBytes, currentClosed: closed })) steps.push(record);
    const last = steps.at(-1)?.step ?? fromStep - 1;
    return last < summary.stepCount ? { steps, nextStep: last + 1 } : { steps };
  }

  /**
   * A run that has not got past its first model step's start, from its history alone (what
   * agent-turn.ts's state is at each of those points: nothing done, then step 1 running, no
   * usage). Undefined for a run any further on.
   */
  private async atStart(runId: string, executionId: string, fromStep: number, waiting: { task: boolean; step: boolean; stepTaken: boolean }): Promise<RunView | undefined> {
    const history = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId: runId, runId: executionId },
      maximumPageSize: startedEvents.length + 1,
    });
    const events = history.history?.events ?? [];
    // Only the beginning of that history: queued (the first workflow task not taken), taken (the
    // first task in a worker's hands: nothing done yet, as a query would wait for it to say), or
    // the first model step scheduled.
    if (events.length === 0 || events.some((event, index) => event.eventType !== startedEvents[index])) return undefined;
    const stepScheduled = events.length === startedEvents.length;
    if (stepScheduled && events.at(-1)?.activityTaskScheduledEventAttributes?.activityType?.name !== 'llmStep') return undefined;
    const queued = (waiting.task && events.length <= 2) || (waiting.step && stepScheduled);
    const payloads = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    const input = payloads?.length ? await decodeFromPayloadsAtIndex<{ input?: unknown; model?: unknown; continued?: unknown }>(this.client.options.loadedDataConverter, 0, payloads) : {};
    if (input.continued !== undefined) return undefined;
    // A step no worker has begun is not shown as started: its step.started comes when one does
    // (live, or from a later read).
    const running = stepScheduled && waiting.stepTaken;
    const steps: StepRecord[] = running && fromStep <= 1 ? [{ step: 1, kind: 'llm', status: 'running' }] : [];
    return {
      runId,
      executionId,
      input: typeof input.input === 'string' ? input.input : '',
      model: typeof input.model === 'string' ? input.model : '',
      status: queued ? 'queued' : 'running',
      steps,
      stepCount: running ? 1 : 0,
      fromStep,
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      pendingApprovals: [],
    };
  }

  /** Why Temporal ended the run: the reason given to terminate it, or its timeout. */
  private async endedByTemporal(execution: { workflowId: string; runId: string }, status: string): Promise<RunError> {
    if (status === 'TIMED_OUT') return { code: 'timed_out', message: 'the run timed out in Temporal (its workflow execution timeout passed)' };
    if (status === 'FAILED') return { code: 'failed', message: 'the run failed in Temporal' };
    try {
      const history = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: execution.workflowId, runId: execution.runId },
        historyEventFilterType: HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      });
      const attributes = history.history?.events?.[0]?.workflowExecutionTerminatedEventAttributes;
      const reason = attributes?.reason?.trim();
      const by = attributes?.identity?.trim();
      return { code: 'terminated', message: `the run was terminated in Temporal${by ? ` by ${by}` : ''}${reason ? `: ${reason.slice(0, 2000)}` : ''}` };
    } catch {
      return { code: 'terminated', message: 'the run was terminated in Temporal' };
    }
  }
}

async function failureDetails(execution: WorkflowHandle, runId: string): Promise<RunState | RunSummary | undefined> {
  try {
    await execution.result();
  } catch (error) {
    const details = error instanceof WorkflowFailedError ? (error.cause as { details?: unknown[] } | undefined)?.details : undefined;
    const state = details?.[0] as RunState | RunSummary | undefined;
    if (state?.runId === runId) return state;
  }
  return undefined;
}

/** The summary without step content (a whole state's steps, a result's tail). */
function withoutSteps(summary: RunState | RunSummary | Omit<RunSummary, 'tail'>): Omit<RunState, 'steps'> {
  const { steps: _steps, tail: _tail, ...rest } = summary as RunSummary;
  return rest;
}
