import type { ToolProgress } from '../../shared/events';

// A tool that works through thousands of small items would otherwise report thousands of
// progress events a second, each one an SSE frame for every subscriber and a heartbeat. This
// passes on at most one per interval and keeps the latest, so the last word is never lost.

export interface ProgressThrottle {
  report(update: ToolProgress): void;
  /** Sends the latest update held back, if any (call when the work ends). */
  flush(): void;
}

export function throttleProgress(send: (update: ToolProgress) => void, intervalMs = 250): ProgressThrottle {
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let held: ToolProgress | undefined;
  const sendNow = (update: ToolProgress) => {
    held = undefined;
    lastSentAt = performance.now();
    send(update);
  };
  return {
    report(update) {
      if (performance.now() - lastSentAt >= intervalMs) sendNow(update);
      else held = update;
    },
    flush() {
      if (held) sendNow(held);
    },
  };
}
