import { ApplicationFailure } from '@temporalio/activity';
import type { SampleOutcome } from './concurrency-limit';
import type { Permit, ToolConcurrency } from './concurrency-limiter';
import { ToolOverloadedError, type ToolContext, type ToolDefinition } from './registry';

// The worker's gate around one tool call: wait for a permit of the call's key (its heartbeats go
// on meanwhile, and a cancel ends the wait at once), run the tool, and tell the limiter how it
// went. A ToolOverloadedError leaves as a retryable failure that waits the backend's Retry-After.

/** A wait longer than this is shown to the run's watchers as tool progress. */
export const waitNoticeMs = 250;

/** The key whose limit a call waits for: the tool's own, its name, or none (`concurrencyKey: null`). */
export function concurrencyKeyOf<Args>(tool: ToolDefinition<Args>, args: Args): string | undefined {
  if (tool.concurrencyKey === null) return undefined;
  return tool.concurrencyKey ? tool.concurrencyKey(args) : tool.name;
}

export async function runWithPermit<Args>(limiters: ToolConcurrency, tool: ToolDefinition<Args>, args: Args, context: ToolContext): Promise<unknown> {
  const key = concurrencyKeyOf(tool, args);
  const permit = key === undefined ? undefined : await waitForPermit(limiters, key, context);
  try {
    const result = await tool.run(args, context);
    permit?.release(context.signal.aborted ? 'ignore' : 'success');
    return result;
  } catch (error) {
    permit?.release(outcomeOf(error, context.signal));
    if (error instanceof ToolOverloadedError) {
      throw ApplicationFailure.create({
        type: 'ToolOverloaded',
        message: error.message,
        ...(error.retryAfterMs ? { nextRetryDelay: error.retryAfterMs } : {}),
      });
    }
    throw error;
  }
}

async function waitForPermit(limiters: ToolConcurrency, key: string, context: ToolContext): Promise<Permit> {
  const notice = setTimeout(() => {
    const state = limiters.state(key);
    if (!state) return;
    const { limit, inFlight, waiting } = state;
    context.progress({
      message: `waiting for a free slot: ${key} runs at most ${limit} at once on this worker (${inFlight} running, ${waiting} waiting)`,
      data: { concurrency: { key, limit, inFlight, waiting } },
    });
  }, waitNoticeMs);
  try {
    return await limiters.acquire(key, context.signal);
  } finally {
    clearTimeout(notice);
  }
}

/** Overload and timeouts are drops; a cancel, bad input or any other failure says nothing about load. */
function outcomeOf(error: unknown, signal: AbortSignal): SampleOutcome {
  if (signal.aborted) return 'ignore';
  if (error instanceof ToolOverloadedError) return 'drop';
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return code === 'ETIMEDOUT' || name === 'TimeoutError' ? 'drop' : 'ignore';
}
