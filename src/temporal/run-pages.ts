import type { Client } from '@temporalio/client';
import { appendPage, defaultPageBytes, stepSize } from '../shared/step-pages';
import type { ExecutionSegment, StepPage, StepPageRequest, StepRecord } from '../shared/run-types';
import { runPageQuery } from '../workflows/definitions';

// Reads a run's steps page by page from the executions that hold them (a run that continued as
// new has several). Temporal stays the only store: each page is a runPage query; a closed
// execution never changes, so its pages are cached (by bytes, least recently used first).

export interface StepFromExecution {
  record: StepRecord;
  executionId: string;
}

export class RunPages {
  private readonly closed = new Map<string, { page: StepPage; size: number }>();
  private closedBytes = 0;

  constructor(
    private readonly client: Client,
    private readonly cacheBytes = 64 * 1024 * 1024,
  ) {}

  /** One page of one execution; `closed`: the execution has ended, so the page may be cached. */
  async page(runId: string, executionId: string, request: StepPageRequest, closed: boolean): Promise<StepPage> {
    const key = `${runId}/${executionId}/${request.fromStep}/${request.fromCall ?? 0}/${request.maxBytes ?? ''}/${request.withContext ? 1 : 0}`;
    const cached = closed ? this.closed.get(key) : undefined;
    if (cached) {
      this.closed.delete(key);
      this.closed.set(key, cached);
      return cached.page;
    }
    const page = await this.client.workflow.getHandle(runId, executionId).query(runPageQuery, request);
    if (closed) this.remember(key, page);
    return page;
  }

  private remember(key: string, page: StepPage): void {
    const size = page.steps.reduce((sum, step) => sum + stepSize(step), 1000);
    if (size > this.cacheBytes / 4) return;
    this.closed.set(key, { page, size });
    this.closedBytes += size;
    for (const [oldest, entry] of this.closed) {
      if (this.closedBytes <= this.cacheBytes) break;
      this.closed.delete(oldest);
      this.closedBytes -= entry.size;
    }
  }

  /**
   * Whole steps from `fromStep` to `toStep` (inclusive; default: as far as the executions go), in
   * order. `segments` are all the run's executions, the current one last; `currentClosed`: the
   * run has ended. Stops early once `maxBytes` of content has been yielded (at least one step).
   */
  async *steps(
    runId: string,
    segments: ExecutionSegment[],
    fromStep: number,
    options: { toStep?: number; maxBytes?: number; currentClosed: boolean },
  ): AsyncGenerator<StepFromExecution> {
    const toStep = options.toStep ?? Number.POSITIVE_INFINITY;
    let step = Math.max(1, fromStep);
    let yielded = 0;
    for (const [index, segment] of segments.entries()) {
      const last = index === segments.length - 1;
      // An execution that continued as new during an approval wait also holds that step (running);
      // its segment ends before it, and the next execution has it.
      const end = Math.min(last ? Number.POSITIVE_INFINITY : segment.lastStep, toStep);
      if (step > end) {
        if (step > toStep) return;
        continue;
      }
      const closed = !last || options.currentClosed;
      let request: StepPageRequest | undefined = { fromStep: Math.max(step, segment.firstStep), maxBytes: defaultPageBytes };
      const pending: StepRecord[] = [];
      while (request) {
        const page = await this.page(runId, segment.executionId, request, closed);
        appendPage(pending, page);
        // The last step read may go on on the next page (a split tools step): hold it back.
        const held = page.next?.call !== undefined ? pending.pop() : undefined;
        for (const record of pending) {
          if (record.step > end) break;
          yield { record, executionId: segment.executionId };
          step = record.step + 1;
          yielded += stepSize(record);
        }
        pending.length = 0;
        if (step > end) break;
        if (held) pending.push(held);
        else if (options.maxBytes !== undefined && yielded >= options.maxBytes) return;
        request = page.next ? { fromStep: page.next.step, ...(page.next.call !== undefined ? { fromCall: page.next.call } : {}), maxBytes: defaultPageBytes } : undefined;
      }
      if (step > toStep) return;
    }
  }
}
