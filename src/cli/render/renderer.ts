import type { RunEvent } from '../../client';

// What a followed run's events become on screen: text (text-renderer.ts) or NDJSON (json-renderer.ts).

export interface Renderer {
  event(event: RunEvent): void;
  /** The stream stopped (the run ended, or Ctrl-C): live displays stop, the cursor is at a line's start. */
  close(): void;
  /** A line about the command itself (stderr; nothing in JSON mode). */
  note(line: string): void;
}
