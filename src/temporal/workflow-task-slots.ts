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
// This supplier paces new runs only, and counts slots in use, not slots held by idle pollers.
// The SDK polls two queues: the task queue, where a run's first workflow task waits (and the
// tasks of runs this worker has not cached), and this worker's sticky queue, where a cached run's
// next tasks go. A burst is a burst of first tasks; the tasks that carry runs already going on
// must not wait behind it (a first version that paced both queues at 4 let a steady 17 runs a
// second pile up: each slot is held for a round trip to Temporal as well, so 4 slots bound the
// throughput, not the CPU). So:
// - task-queue work (its polls, and eager starts) may hold at most `limit` slots: a poll starts
//   only while fewer than `limit` are in use or promised, an eager start whenever fewer than
//   `limit` are in use, whatever idle pollers hold;
// - sticky-queue work may hold slots up to `maxTotal` (the SDK's own default, 40) with the rest.
// The SDK's default pollers stay: 10, of which 2 on the task queue.

/** WORKER_MAX_WORKFLOW_TASKS's default. */
export const defaultMaxWorkflowTasks = 8;
/** The SDK's default maxConcurrentWorkflowTaskExecutions: the cap of everything together. */
export const sdkWorkflowTaskSlots = 40;

interface Permit extends SlotPermit {
  readonly sticky: boolean;
  readonly fromPoll: boolean;
  used: boolean;
  released: boolean;
}

/** Slots of one kind of work: in use, and reserved by pollers or eager starts but not used yet. */
class Tally {
  inUse = 0;
  polling = 0;
  eager = 0;
  get held(): number {
    return this.inUse + this.polling + this.eager;
  }
}

export class PacedWorkflowTaskSlots implements CustomSlotSupplier<WorkflowSlotInfo> {
  readonly type = 'custom' as const;
  private readonly fresh = new Tally();
  private readonly sticky = new Tally();
  private readonly waiting = new Set<() => void>();
  /** The most task-queue tasks (new runs) in use at once so far, and how many eager starts were granted. */
  peakInUse = 0;
  eagerGranted = 0;

  constructor(
    readonly limit: number,
    readonly maxTotal = Math.max(limit, sdkWorkflowTaskSlots),
  ) {
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
    this.tally(sticky).polling++;
    return permit(sticky, true);
  }

  private mayPoll(sticky: boolean): boolean {
    if (this.fresh.held + this.sticky.held >= this.maxTotal) return false;
    return sticky || this.fresh.held < this.limit;
  }

  tryReserveSlot(_context: SlotReserveContext): SlotPermit | null {
    const { fresh } = this;
    if (fresh.inUse + fresh.eager >= this.limit || fresh.inUse + fresh.eager + this.sticky.inUse + this.sticky.eager >= this.maxTotal) return null;
    fresh.eager++;
    this.eagerGranted++;
    return permit(false, false);
  }

  markSlotUsed(context: SlotMarkUsedContext<WorkflowSlotInfo>): void {
    const held = context.permit as Permit;
    if (held.used || held.released) return;
    held.used = true;
    const tally = this.tally(held.sticky);
    this.unreserve(held);
    tally.inUse++;
    if (!held.sticky && tally.inUse > this.peakInUse) this.peakInUse = tally.inUse;
  }

  releaseSlot(context: SlotReleaseContext<WorkflowSlotInfo>): void {
    const held = context.permit as Permit;
    if (held.released) return;
    held.released = true;
    if (held.used) this.tally(held.sticky).inUse--;
    else this.unreserve(held);
    for (const wake of this.waiting) wake();
  }

  private tally(sticky: boolean): Tally {
    return sticky ? this.sticky : this.fresh;
  }

  private unreserve(held: Permit): void {
    const tally = this.tally(held.sticky);
    if (held.fromPoll) tally.polling--;
    else tally.eager--;
  }

  /** For tests and metrics: task-queue work (new runs) and sticky-queue work, in use and reserved. */
  get counts(): { fresh: { inUse: number; polling: number; eager: number }; sticky: { inUse: number; polling: number } } {
    const { fresh, sticky } = this;
    return { fresh: { inUse: fresh.inUse, polling: fresh.polling, eager: fresh.eager }, sticky: { inUse: sticky.inUse, polling: sticky.polling } };
  }
}

const permit = (sticky: boolean, fromPoll: boolean): Permit => ({ sticky, fromPoll, used: false, released: false });
