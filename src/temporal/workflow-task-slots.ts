import type { CustomSlotSupplier, SlotMarkUsedContext, SlotPermit, SlotReleaseContext, SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';

// Workflow task slots that pace a burst without giving up eager start.
//
// The SDK runs every workflow task of a worker on one thread, one after another, but it takes up
// to 40 of them from Temporal at once (its default). When 100 runs start together, their first
// workflow tasks, their completions and the encoding of their commands all land on the worker's
// event loop in the same second and hold it, and the token streams of runs already streaming
// wait behind them (docs/architecture.md, Cost per run). A fixed pool of 2 slots paces them, but
// the SDK's pollers reserve a slot before each long poll, so an idle worker's pollers hold every
// slot and no slot is left for an eager start (the first workflow task handed back in the
// start's reply): each run's first token would wait one more round trip.
//
// This supplier counts slots in use, not slots held by idle pollers: a poll may start only while
// fewer than `limit` tasks are in use or about to be, and an eager task is taken whenever fewer
// than `limit` tasks are in use, whatever the pollers hold. The SDK polls two queues, the task
// queue and this worker's sticky queue (where a cached run's next tasks go): while fewer than
// `limit` tasks are in use, each queue may always have one poll waiting, or the queue whose
// poller holds no slot would wait for the other's long poll to end. So at most `limit` + 1 tasks
// come from polls at once, and eager ones can add up to `limit` more in a race with a poll's
// answer. The worker keeps max(2, limit) pollers (src/worker.ts).

/** WORKER_MAX_WORKFLOW_TASKS's default. */
export const defaultMaxWorkflowTasks = 4;

interface Permit extends SlotPermit {
  readonly fromPoll: boolean;
  readonly sticky: boolean;
  used: boolean;
  released: boolean;
}

export class PacedWorkflowTaskSlots implements CustomSlotSupplier<WorkflowSlotInfo> {
  readonly type = 'custom' as const;
  /** Tasks being processed (marked used, not yet released). */
  private inUse = 0;
  /** Reservations held by pollers that have not brought a task yet, of both queues and of the sticky one. */
  private polling = 0;
  private pollingSticky = 0;
  /** Eager reservations not used or released yet. */
  private eager = 0;
  private readonly waiting = new Set<() => void>();
  /** The most tasks in use at once so far, and how many eager tasks were granted. */
  peakInUse = 0;
  eagerGranted = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`workflow task slots must be a positive integer, got ${limit}`);
  }

  async reserveSlot(context: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    const sticky = context.isSticky;
    while (!this.mayPoll(sticky)) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          abortSignal.removeEventListener('abort', onAbort);
          this.waiting.delete(wake);
          resolve();
        };
        // The SDK expects the signal's own reason back (it logs any other error as a fault).
        const onAbort = () => {
          this.waiting.delete(wake);
          reject(abortSignal.reason);
        };
        if (abortSignal.aborted) return onAbort();
        abortSignal.addEventListener('abort', onAbort, { once: true });
        this.waiting.add(wake);
      });
    }
    this.polling++;
    if (sticky) this.pollingSticky++;
    return permit(true, sticky);
  }

  private mayPoll(sticky: boolean): boolean {
    if (this.inUse + this.eager >= this.limit) return false;
    if (this.inUse + this.eager + this.polling < this.limit) return true;
    // Full, but this queue has no poll waiting: it may have one.
    const sameQueue = sticky ? this.pollingSticky : this.polling - this.pollingSticky;
    return sameQueue === 0;
  }

  tryReserveSlot(_context: SlotReserveContext): SlotPermit | null {
    if (this.inUse + this.eager >= this.limit) return null;
    this.eager++;
    this.eagerGranted++;
    return permit(false, false);
  }

  markSlotUsed(context: SlotMarkUsedContext<WorkflowSlotInfo>): void {
    const held = context.permit as Permit;
    if (held.used || held.released) return;
    held.used = true;
    this.unreserve(held);
    this.inUse++;
    if (this.inUse > this.peakInUse) this.peakInUse = this.inUse;
  }

  releaseSlot(context: SlotReleaseContext<WorkflowSlotInfo>): void {
    const held = context.permit as Permit;
    if (held.released) return;
    held.released = true;
    if (held.used) this.inUse--;
    else this.unreserve(held);
    for (const wake of this.waiting) wake();
  }

  private unreserve(held: Permit): void {
    if (!held.fromPoll) this.eager--;
    else {
      this.polling--;
      if (held.sticky) this.pollingSticky--;
    }
  }

  /** For tests and metrics: tasks in use, pollers' reservations, eager reservations. */
  get counts(): { inUse: number; polling: number; eager: number } {
    return { inUse: this.inUse, polling: this.polling, eager: this.eager };
  }
}

const permit = (fromPoll: boolean, sticky: boolean): Permit => ({ fromPoll, sticky, used: false, released: false });
