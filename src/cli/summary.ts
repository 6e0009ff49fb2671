import type { Cost, RunEvent, Usage } from '../client';

// The last line of a followed run: how it ended, its tokens and, when priced, its cost.

type End = Extract<RunEvent, { event: 'run.completed' | 'run.failed' | 'run.cancelled' }>;

export function formatUsage(usage: Usage, cost?: Cost): string {
  const tokens = `${usage.totalTokens} tokens (prompt ${usage.promptTokens}, completion ${usage.completionTokens})`;
  return cost ? `${tokens}, $${cost.total.toFixed(cost.total < 0.01 ? 6 : 4)}` : tokens;
}

export function formatEnd(end: End): string {
  const usage = formatUsage(end.data.usage, end.data.cost);
  switch (end.event) {
    case 'run.completed':
      return `completed · ${usage}`;
    case 'run.failed':
      return `failed: ${end.data.error.code}: ${end.data.error.message} · ${usage}`;
    case 'run.cancelled':
      return `cancelled · ${usage}`;
  }
}

export const exitCodeOfEnd = (end: End | undefined): number => (end?.event === 'run.completed' ? 0 : 1);

/** Shortens a tool's JSON arguments for one line. */
export const shorten = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
