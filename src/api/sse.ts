import type { Response } from 'express';
import type { RunEvent } from '../shared/events';

// SSE exists only here, at the HTTP edge. Writes respect backpressure; a comment line keeps idle
// connections open through proxies; headers keep proxies from buffering.

/** Waits for the client to take more, or to go; leaves no listener behind either way. */
function drainOrClose(response: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

// Subscribers of one run get the same data objects; serialize each once, not once per subscriber.
const serialized = new WeakMap<object, string>();

export function formatEvent(event: RunEvent): string {
  let data = serialized.get(event.data);
  if (data === undefined) {
    data = JSON.stringify(event.data);
    serialized.set(event.data, data);
  }
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${data}\n\n`;
}

export interface SseOptions {
  keepAliveMs?: number;
  /** Reconnect delay suggested to EventSource clients. */
  retryMs?: number;
}

/** Writes batches of events as SSE, one write per batch. */
export async function pipeEventsToResponse(
  response: Response,
  batches: AsyncIterable<RunEvent[]>,
  options: SseOptions = {},
): Promise<void> {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  response.flushHeaders();
  response.write(`retry: ${options.retryMs ?? 2000}\n\n`);
  const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), options.keepAliveMs ?? 15_000);
  try {
    for await (const batch of batches) {
      if (response.destroyed) break;
      const frames = batch.length === 1 ? formatEvent(batch[0]!) : batch.map(formatEvent).join('');
      if (!response.write(frames)) await drainOrClose(response);
    }
  } finally {
    clearInterval(keepAlive);
    if (!response.destroyed) response.end();
  }
}
