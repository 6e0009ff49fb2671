import type { DurableAgentsClient, RunEvent, StreamRunOptions } from '../client';
import { DetachedError, detachMessage, onCtrlC } from './detach';
import { exitCodes } from './exit-codes';
import type { Renderer } from './render/renderer';
import { exitCodeOfEnd } from './summary';

// Follows a run to its end through the client's streamRun (which reconnects with Last-Event-ID by
// itself: a dropped connection or a restarted API costs nothing). Ctrl-C detaches: the run goes
// on. The exit code says how the run ended.

type End = Extract<RunEvent, { event: 'run.completed' | 'run.failed' | 'run.cancelled' }>;

export async function followRun(
  client: DurableAgentsClient,
  runId: string,
  renderer: Renderer,
  options: Pick<StreamRunOptions, 'from' | 'lastEventId'> = {},
): Promise<number> {
  const detach = onCtrlC();
  const stream = client.streamRun(runId, { ...options, signal: detach.signal });
  let end: End | undefined;
  try {
    for await (const event of stream) {
      renderer.event(event);
      if (event.event === 'run.completed' || event.event === 'run.failed' || event.event === 'run.cancelled') end = event;
    }
  } catch (error) {
    if (!(error instanceof DetachedError)) throw error;
    renderer.close();
    process.stderr.write(`\n${detachMessage(runId, stream.lastEventId)}\n`);
    return exitCodes.detached;
  } finally {
    detach.dispose();
    renderer.close();
  }
  if (end) return exitCodeOfEnd(end);
  // The API had nothing after the position asked for (204): the run had already ended.
  const run = await client.getRun(runId);
  renderer.note(`run ${runId} has ended: ${run.status}${run.error ? ` (${run.error.code}: ${run.error.message})` : ''}`);
  return run.status === 'completed' ? exitCodes.ok : exitCodes.failed;
}
