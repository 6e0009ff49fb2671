import type { TruncationInfo } from './run-types';

/** What the toolCacheEntry workflow holds: one tool call's result, and when it stops being served. */
export interface ToolCacheEntry {
  tool: string;
  result: string;
  truncated?: TruncationInfo;
  /** Epoch milliseconds. */
  storedAt: number;
  expiresAt: number;
}

export const toolCacheEntryWorkflowType = 'toolCacheEntry';
