import { ApplicationFailure, CancelledFailure, type Context } from '@temporalio/activity';
import type { LiveRelay } from '../relay/live-relay';

// Heartbeats carry where the live stream is and how far it got, never its content. The first goes
// out at once; then one per interval. They are also how a running activity learns that it was
// cancelled, so they keep going while the model is silent.
export function startHeartbeats(context: Context, details: () => unknown, intervalMs = 1000): () => void {
  const beat = () => context.heartbeat(details());
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}

/** How often an activity heartbeats once the API has said its run was cancelled. */
const urgentBeatMs = 20;

/**
 * A step's cancellation. Temporal's reaches the activity with a heartbeat's answer, up to a second
 * after the cancel; the API that accepted the cancel also says so directly (relay.cancelRun, over
 * the relay), and that comes first. `signal` aborts on either, so the model stream and the tool
 * stop at once. An activity may end as cancelled only once Temporal has cancelled it (before, the
 * SDK would report a failure and Temporal would retry the step), so after the API's word it
 * heartbeats every 20 ms until Temporal's cancellation arrives: `settle()` waits for it.
 */
export function stepCancellation(context: Context, relay: LiveRelay, runId: string, beat: () => void) {
  const early = new AbortController();
  let urgent: NodeJS.Timeout | undefined;
  const stopListening =
    relay.onCancel?.(runId, () => {
      if (context.cancellationSignal.aborted || early.signal.aborted) return;
      early.abort(new CancelledFailure('the run was cancelled'));
      beat();
      urgent = setInterval(beat, urgentBeatMs);
    }) ?? (() => undefined);
  const stopUrgent = () => clearInterval(urgent);
  context.cancellationSignal.addEventListener('abort', stopUrgent, { once: true });
  return {
    signal: AbortSignal.any([context.cancellationSignal, early.signal]),
    /**
     * After the signal fired: resolves once Temporal has cancelled the activity (then throw as for
     * any cancellation); throws a retryable failure if Temporal does not within `ms`.
     */
    async settle(ms = 10_000): Promise<void> {
      if (context.cancellationSignal.aborted || !early.signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        context.cancellationSignal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (!context.cancellationSignal.aborted) {
        throw ApplicationFailure.retryable('the API said this run was cancelled, but Temporal did not cancel this step; it runs again', 'CancelNotConfirmed');
      }
    },
    dispose() {
      stopListening();
      stopUrgent();
      context.cancellationSignal.removeEventListener('abort', stopUrgent);
    },
  };
}
