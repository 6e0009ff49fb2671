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
// The JSON rides on the object under a symbol, not enumerable (JSON.stringify and object spread
// skip it): cheaper per event than a WeakMap entry, whose upkeep the garbage collector pays.
const serialized = Symbol('sse data');

export function formatEvent(event: RunEvent): string {
  const holder = event.data as { [serialized]?: string };
  let data = holder[serialized];
  if (data === undefined) {
    data = JSON.stringify(event.data);
    Object.defineProperty(holder, serialized, { value: data });
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
