import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { toolSamplesSignal, toolStatsWorkflowId, toolStatsWorkflowType, type ToolSample, type ToolStatsSummary } from '../../shared/tool-stats';

// A process's side of the shared tool analytics (src/workflows/tool-stats.ts): it sends the
// samples of its calls in batches (one signal every `flushMs` at most, starting the workflow if
// it is not running), and reads the summary from the workflow's memo, at most once every
// `refreshMs`, in the background: a tool call never waits for it. When Temporal cannot answer,
// samples are dropped (analytics, not results) and it is logged once.

export interface ToolStatsOptions {
  /** The deployment's task queue: its analytics workflow runs there (shared/tool-stats.ts). */
  taskQueue: string;
  flushMs?: number;
  refreshMs?: number;
  log?: (message: string, error?: unknown) => void;
}

export class ToolStats {
  private pending: ToolSample[] = [];
  private readonly taskQueue: string;
  private readonly workflowId: string;
  private timer?: NodeJS.Timeout;
  private summary: Record<string, ToolStatsSummary> = {};
  private readAt = 0;
  private reading?: Promise<void>;
  private failing = false;
  private readonly flushMs: number;
  private readonly refreshMs: number;

  constructor(
    private readonly client: Client,
    options: ToolStatsOptions,
  ) {
    this.taskQueue = options.taskQueue;
    this.workflowId = toolStatsWorkflowId(options.taskQueue);
    this.flushMs = options.flushMs ?? 2000;
    this.refreshMs = options.refreshMs ?? 5000;
    this.log = options.log ?? (() => undefined);
  }

  private readonly log: (message: string, error?: unknown) => void;

  /** Records one call (sent with the next batch). */
  record(sample: ToolSample): void {
    if (this.pending.length < 10_000) this.pending.push(sample);
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  async flush(): Promise<void> {
    this.timer = undefined;
    const samples = this.pending.splice(0);
    if (samples.length === 0) return;
    try {
      await this.client.workflow.signalWithStart(toolStatsWorkflowType, {
        workflowId: this.workflowId,
        taskQueue: this.taskQueue,
        args: [{}],
        signal: toolSamplesSignal,
        signalArgs: [samples],
      });
      this.failing = false;
    } catch (error) {
      this.warn('cannot send tool analytics to Temporal; samples are dropped until it answers', error);
    }
  }

  /** The latest summary this process has read (refreshed in the background when stale). */
  current(tool: string): ToolStatsSummary | undefined {
    if (Date.now() - this.readAt > this.refreshMs) void this.refresh();
    return this.summary[tool];
  }

  /** Reads the summary now (GET /v1/tools), unless it was read within `refreshMs`. */
  async all(): Promise<Record<string, ToolStatsSummary>> {
    if (Date.now() - this.readAt > this.refreshMs) await this.refresh();
    return this.summary;
  }

  private refresh(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const description = await this.client.workflow.getHandle(this.workflowId).describe();
        const memo = (await description.memo) as { tools?: Record<string, ToolStatsSummary> } | undefined;
        this.summary = memo?.tools ?? {};
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) this.warn('cannot read tool analytics from Temporal', error);
      } finally {
        this.readAt = Date.now();
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  private warn(message: string, error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log(message, error);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The estimate tool.started carries: the tool's recent p50, once there are a few samples. */
export interface ToolEstimate {
  estimatedMs: number;
  estimateSamples: number;
}

export function estimateOf(summary: ToolStatsSummary | undefined): ToolEstimate | undefined {
  if (!summary || summary.p50Ms === undefined || summary.samples < 3) return undefined;
  return { estimatedMs: summary.p50Ms, estimateSamples: summary.samples };
}
