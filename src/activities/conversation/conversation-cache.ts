import { stepMessages, type ChatMessage, type StepRecord } from '../../shared/run-types';
import { appendPage, defaultPageBytes, stepSize } from '../../shared/step-pages';
import type { RunPages } from '../../temporal/run-pages';

// A model step is not sent its conversation (that would write the whole conversation into the
// history again at every step). It reads it from its run's workflow instead, page by page, and
// this per-worker cache keeps what it read, so a step queries only the steps that are new since
// the last step this worker ran for the run: usually one query. Cached steps are kept only while
// the execution that held them is still in the run's chain of executions (a reset from the
// Temporal UI starts a new chain from its reset point).

export interface Conversation {
  messages: ChatMessage[];
  /** Index of the run's task (its user message) in `messages`. */
  taskIndex: number;
}

interface CachedStep {
  step: number;
  executionId: string;
  /** The same objects from step to step, so token counts memoized by message are reused. */
  messages: ChatMessage[];
  size: number;
}

interface RunEntry {
  context?: ChatMessage[];
  task?: ChatMessage;
  steps: CachedStep[];
  size: number;
}

export class ConversationCache {
  private readonly runs = new Map<string, RunEntry>();
  private totalSize = 0;

  constructor(
    private readonly pages: RunPages,
    private readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  /** The conversation before `step` of the run, as `executionId` (the current execution) has it. */
  async conversation(runId: string, executionId: string, step: number): Promise<Conversation> {
    const entry = this.take(runId);
    try {
      const page = await this.pages.page(runId, executionId, { fromStep: entry.steps.length + 1, withContext: !entry.context, maxBytes: defaultPageBytes }, false);
      entry.context ??= page.context ?? [];
      entry.task ??= { role: 'user', content: page.run.input };
      const chain = new Set(page.run.segments.map((segment) => segment.executionId));
      const stale = entry.steps.findIndex((cached) => !chain.has(cached.executionId));
      if (stale >= 0) this.drop(entry, stale);
      else if (entry.steps.length + 1 >= page.firstStep && page.next?.call === undefined) {
        // The page read above: usually all that is new.
        const records: StepRecord[] = [];
        appendPage(records, page);
        for (const record of records) if (record.step === entry.steps.length + 1 && record.step < step && record.status === 'completed') this.add(entry, record, executionId);
      }
      if (entry.steps.length < step - 1) {
        for await (const { record, executionId: from } of this.pages.steps(runId, page.run.segments, entry.steps.length + 1, { toStep: step - 1, currentClosed: false })) {
          if (record.step !== entry.steps.length + 1 || record.status !== 'completed') throw new Error(`step ${record.step} of run ${runId} is not readable as a finished step`);
          this.add(entry, record, from);
        }
      }
      if (entry.steps.length < step - 1) throw new Error(`run ${runId} holds ${entry.steps.length} finished steps; step ${step} needs ${step - 1}`);
      const messages = [...entry.context, entry.task, ...entry.steps.slice(0, step - 1).flatMap((cached) => cached.messages)];
      return { messages, taskIndex: entry.context.length };
    } finally {
      this.evict(runId);
    }
  }

  private take(runId: string): RunEntry {
    const entry = this.runs.get(runId) ?? { steps: [], size: 0 };
    this.runs.delete(runId);
    this.runs.set(runId, entry);
    return entry;
  }

  private add(entry: RunEntry, record: StepRecord, executionId: string): void {
    const size = stepSize(record);
    entry.steps.push({ step: record.step, executionId, messages: stepMessages(record), size });
    entry.size += size;
    this.totalSize += size;
  }

  private drop(entry: RunEntry, from: number): void {
    for (const cached of entry.steps.splice(from)) {
      entry.size -= cached.size;
      this.totalSize -= cached.size;
    }
  }

  /** Least recently used runs go first; the run just read stays. */
  private evict(keep: string): void {
    for (const [runId, entry] of this.runs) {
      if (this.totalSize <= this.maxBytes) return;
      if (runId === keep) continue;
      this.runs.delete(runId);
      this.totalSize -= entry.size;
    }
  }
}
