// Ctrl-C while following a run stops following, not the run: the stream is aborted, the command
// says how to watch again and exits 130 (128 + SIGINT, what shells expect of an interrupted command).

export interface Detach {
  signal: AbortSignal;
  /** Stops listening for Ctrl-C (the run ended). */
  dispose(): void;
}

export function onCtrlC(): Detach {
  const controller = new AbortController();
  const stop = () => controller.abort(new DetachedError());
  process.once('SIGINT', stop);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', stop) };
}

export class DetachedError extends Error {
  override readonly name = 'DetachedError';
  constructor() {
    super('detached');
  }
}

export function detachMessage(runId: string, lastEventId: string | undefined): string {
  const after = lastEventId && lastEventId !== 'done' ? `\n(or only what comes after what was shown: durable-agents watch ${runId} --after ${lastEventId})` : '';
  return `run ${runId} goes on; watch it with: durable-agents watch ${runId}${after}`;
}
