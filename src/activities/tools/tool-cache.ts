import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import canonicalize from 'canonicalize';
import { toolCacheEntryWorkflowType, type ToolCacheEntry } from '../../shared/tool-cache';

// Tool results kept by Temporal itself, shared by every worker and surviving restarts: one
// workflow per entry (src/workflows/tool-cache-entry.ts) whose input is the result. Its id is a
// hash of the tenant, the tool and the arguments in RFC 8785 canonical form (the `canonicalize`
// package, the RFC's reference implementation), so equal arguments written in another key order
// or number spelling hit the same entry, and no id says whose call or what it asked. A read is
// one history page of one event; a write is one workflow start. No other store to run, back up
// or secure: entries are encrypted by the payload codec like runs, and go when their workflow ends.

export interface ToolCacheLog {
  (message: string, error?: unknown): void;
}

export class ToolResultCache {
  private failing = false;

  constructor(
    private readonly client: Client,
    private readonly log: ToolCacheLog = () => undefined,
  ) {}

  /** The entry's workflow id; arguments are the parsed (validated) ones. */
  static key(tenant: string, tool: string, args: unknown): string {
    const digest = createHash('sha256')
      .update(JSON.stringify([tenant, tool, canonicalize(args ?? null) ?? 'null']))
      .digest('base64url');
    return `tool-cache-${digest}`;
  }

  /** The live entry, or undefined (none, expired, or Temporal could not say: the tool then runs). */
  async get(key: string): Promise<ToolCacheEntry | undefined> {
    try {
      const page = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: key },
        maximumPageSize: 1,
      });
      const payloads = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
      if (!payloads?.length) return undefined;
      const entry = await decodeFromPayloadsAtIndex<ToolCacheEntry>(this.client.options.loadedDataConverter, 0, payloads);
      this.failing = false;
      // By the clock, not by the workflow's status: an entry whose timer is late is not served.
      return entry && entry.expiresAt > Date.now() ? entry : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      this.warn('cannot read the tool cache in Temporal; tools run uncached until it answers', error);
      return undefined;
    }
  }

  /** Keeps `entry` until its expiry. A concurrent writer's entry for the same key wins. */
  async put(key: string, entry: ToolCacheEntry, taskQueue: string): Promise<void> {
    try {
      await this.client.workflow.start(toolCacheEntryWorkflowType, {
        workflowId: key,
        taskQueue,
        args: [entry],
        // An expired entry's closed workflow is replaced; a running one is kept.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        // A backstop in case no worker runs its timer: Temporal ends it on its own a minute later.
        workflowExecutionTimeout: entry.expiresAt - entry.storedAt + 60_000,
      });
      this.failing = false;
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      this.warn('cannot write the tool cache in Temporal; results are not cached until it answers', error);
    }
  }

  private warn(message: string, error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log(message, error);
  }
}

const isNotFound = (error: unknown): boolean => (error as { code?: number } | undefined)?.code === 5;
