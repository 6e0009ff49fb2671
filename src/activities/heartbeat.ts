import type { Context } from '@temporalio/activity';

// Heartbeats carry where the live stream is and how far it got, never its content. The first goes
// out at once; then one per interval (Temporal throttles further). They are also how a running
// activity learns that it was cancelled, so they keep going while the model is silent.
export function startHeartbeats(context: Context, details: () => unknown, intervalMs = 1000): () => void {
  const beat = () => context.heartbeat(details());
  beat();
  const timer = setInterval(beat, intervalMs);
  return () => clearInterval(timer);
}
