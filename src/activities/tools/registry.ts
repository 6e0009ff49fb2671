import { z } from 'zod';
import type { ToolProgress } from '../../shared/events';
import type { ToolPolicy } from '../../shared/run-types';
import { ToolConcurrency, type ToolConcurrencyOptions } from './concurrency-limiter';

// A tool is defined once: name, description, arguments as a zod schema (the JSON Schema the model
// sees is generated from it), timeout, retry policy, idempotency, approval, and run(). The
// workflow knows tools only by name and policy; each call runs as the activity `tool:<name>`.

export interface ToolContext {
  /** Reports progress: it reaches SSE clients at once as tool.progress, and heartbeats the call. */
  progress(update: ToolProgress): void;
  /**
   * Streams output text: it reaches SSE clients at once as tool.output.delta, and late readers
   * read it from the call's result. Up to TOOL_OUTPUT_MAX_BYTES (and a quarter of the call's
   * result budget); the rest is left out, as `outputTruncated` says. The model gets the result.
   */
  output(text: string): void;
  /** Fires when the call is cancelled (the run was cancelled or the call timed out). */
  signal: AbortSignal;
  /** 1 on the first attempt. */
  attempt: number;
  /** Stable across retries of one call: run id + call id. */
  idempotencyKey: string;
  /** The last progress an earlier attempt of this call reported, if any. */
  lastProgress?: ToolProgress;
  /**
   * For a tool with a cache policy: keep this result at most `ttlMs` (0: not at all), as when
   * the source says so (http_get and `Cache-Control: no-store` or `max-age`).
   */
  limitCache(ttlMs: number): void;
}

/** Results of equal calls (same tenant, tool and arguments) are reused for `ttlMs`. */
export interface ToolCachePolicy {
  ttlMs: number;
}

export interface ToolRetry {
  maximumAttempts: number;
  initialIntervalMs?: number;
  backoffCoefficient?: number;
  maximumIntervalMs?: number;
}

export interface ToolDefinition<Args = any> {
  name: string;
  description: string;
  parameters: z.ZodType<Args>;
  /** The JSON Schema shown to the model, when it is not generated from `parameters` (MCP tools). */
  jsonSchema?: Record<string, unknown>;
  /** Start-to-close timeout of one attempt; default 60 s. */
  timeoutMs?: number;
  /** Default: 3 attempts, 1 s doubling to 10 s. */
  retry?: ToolRetry;
  /** Safe to run twice. A tool that is not gets one attempt, unless it uses the idempotency key. */
  idempotent: boolean;
  /** Deduplicates its side effect by context.idempotencyKey, so retries are safe. */
  usesIdempotencyKey?: boolean;
  /** The run pauses for a human decision before this tool runs (see the approvals API). */
  needsApproval?: boolean;
  /** Only for idempotent tools whose result depends on the arguments alone, for a while. */
  cache?: ToolCachePolicy;
  /** Where it comes from, as GET /v1/tools shows it: this product, your custom.ts, an MCP server. */
  source?: 'built-in' | 'custom' | 'mcp';
  /**
   * Whose adaptive concurrency limit a call waits for (concurrency-limiter.ts): default the tool's
   * name; http_get: `http_get:<host>`. `null`: none, for tools that reach no shared backend (a
   * timer, arithmetic, local files): there is nothing to protect, and their latency follows their
   * arguments, not load.
   */
  concurrencyKey?: ((args: Args) => string) | null;
  /** The result goes to the model as text: strings as they are, anything else as JSON. */
  run(args: Args, context: ToolContext): Promise<unknown> | unknown;
}

/** A failure that retrying cannot fix (bad input): reported to the model at once. */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/**
 * The backend is overloaded (HTTP 429 or 503, or the like): the call is retried, after
 * `retryAfterMs` when the backend said, and its key's concurrency limit is cut.
 */
export class ToolOverloadedError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ToolOverloadedError';
  }
}

export interface OpenAiToolSpec {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export const toolActivityName = (tool: string) => `tool:${tool}`;

const defaultRetry: Required<ToolRetry> = { maximumAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 10_000 };

export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  /** This worker's concurrency limits per tool or host (concurrency-gate.ts). */
  readonly concurrency: ToolConcurrency;

  constructor(tools: ToolDefinition[], options: { concurrency?: ToolConcurrencyOptions } = {}) {
    this.concurrency = new ToolConcurrency(options.concurrency);
    for (const tool of tools) this.add(tool);
  }

  add(tool: ToolDefinition): void {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(tool.name)) throw new Error(`tool name "${tool.name}" must be 1-64 of A-Z a-z 0-9 _ -`);
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is defined twice`);
    if (tool.cache) {
      if (!tool.idempotent) throw new Error(`tool "${tool.name}" has a cache policy but is not idempotent: a cached result would skip its side effect`);
      if (!Number.isInteger(tool.cache.ttlMs) || tool.cache.ttlMs < 1000 || tool.cache.ttlMs > 7 * 24 * 3600_000) {
        throw new Error(`tool "${tool.name}": cache.ttlMs must be a whole number of milliseconds from 1000 to 7 days`);
      }
    }
    this.tools.set(tool.name, tool);
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  get names(): string[] {
    return [...this.tools.keys()];
  }

  get all(): ToolDefinition[] {
    return [...this.tools.values()];
  }

  specs(names: string[]): OpenAiToolSpec[] {
    return names.flatMap((name) => {
      const tool = this.tools.get(name);
      if (!tool) return [];
      const { $schema: _ignored, ...parameters } = tool.jsonSchema ?? (z.toJSONSchema(tool.parameters) as Record<string, unknown>);
      return [{ type: 'function' as const, function: { name: tool.name, description: tool.description, parameters } }];
    });
  }

  /** What the workflow needs to schedule each tool's calls: timeouts and retries. */
  policies(names: string[]): ToolPolicy[] {
    return names.flatMap((name) => {
      const tool = this.tools.get(name);
      if (!tool) return [];
      const retry = { ...defaultRetry, ...tool.retry };
      const retriesAreSafe = tool.idempotent || tool.usesIdempotencyKey === true;
      return [
        {
          name,
          timeoutMs: tool.timeoutMs ?? 60_000,
          maximumAttempts: retriesAreSafe ? retry.maximumAttempts : 1,
          initialIntervalMs: retry.initialIntervalMs,
          backoffCoefficient: retry.backoffCoefficient,
          maximumIntervalMs: retry.maximumIntervalMs,
          needsApproval: tool.needsApproval === true,
        },
      ];
    });
  }
}
