import { sleep } from '@temporalio/workflow';
import type { ToolCacheEntry } from '../shared/tool-cache';

// One cached tool result, kept by Temporal: the result is this workflow's input (encrypted by
// the payload codec like every other payload), and the entry lives while the workflow runs. It
// ends when its time to live has passed; readers also check the time themselves, so an entry
// whose timer is late is never served stale.

export async function toolCacheEntry(entry: ToolCacheEntry): Promise<void> {
  await sleep(Math.max(1, entry.expiresAt - entry.storedAt));
}
