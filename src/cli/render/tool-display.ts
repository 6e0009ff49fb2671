import type { ToolProgress } from '../../client';

// How a tools step is shown: bars side by side in a terminal (tool-bars.ts), lines otherwise
// (tool-lines.ts). Calls of one step run in parallel, so every method names its call.

export interface ToolDisplay {
  started(callId: string, name: string, args: string, estimatedMs?: number): void;
  progress(callId: string, progress: ToolProgress, etaMs?: number): void;
  /** Streamed output (tool.output.delta), of attempt `attempt`. */
  output(callId: string, attempt: number, delta: string): void;
  finished(callId: string, outcome: { ok: boolean; text: string; cached?: boolean }): void;
  /** The step ended: whatever is live stops. */
  end(): void;
}

/** Splits streamed output into whole lines per call; the rest waits for its newline or the end. */
export class LineBuffer {
  private readonly partial = new Map<string, { attempt: number; text: string }>();

  add(callId: string, attempt: number, delta: string): { lines: string[]; restarted: boolean } {
    const entry = this.partial.get(callId);
    const restarted = entry !== undefined && attempt > entry.attempt;
    if (entry && attempt < entry.attempt) return { lines: [], restarted: false };
    const text = (restarted || !entry ? '' : entry.text) + delta;
    const lines = text.split('\n');
    this.partial.set(callId, { attempt, text: lines.pop()! });
    return { lines, restarted };
  }

  /** What is left of a call's output (no newline at its end). */
  flush(callId: string): string | undefined {
    const rest = this.partial.get(callId)?.text;
    this.partial.delete(callId);
    return rest || undefined;
  }
}

export const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 100) / 10)} s`;
