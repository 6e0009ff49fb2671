import type { Response } from 'express';
import type { RunEvent } from '../shared/events';
import { CatchUp, catchUpFrameMs } from './catch-up';

// SSE exists only here, at the HTTP edge. Writes respect backpressure; a comment line keeps idle
// connections open through proxies; headers keep proxies from buffering.

/** Waits for the client to take more, or to go; leaves no listener behind either way. */
export function drainOrClose(response: Response): Promise<void> {
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
  /** Merge what gathers while the socket pushes back (default true; false measures without it). */
  coalesce?: boolean;
}

const format = (batch: RunEvent[]) => (batch.length === 1 ? formatEvent(batch[0]!) : batch.map(formatEvent).join(''));

/**
 * Writes batches of events as SSE, one write per batch. A client that keeps up gets each batch
 * as it comes. One whose socket pushes back (it has not taken a write for a frame interval) gets
 * its backlog merged until the step ends (catch-up.ts): it costs one merged frame in Node's
 * buffer, not its backlog frame by frame.
 */
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
  const merge = options.coalesce ?? true;
  let catchUp: CatchUp | undefined;
  try {
    for await (const batch of batches) {
      if (response.destroyed) break;
      if (catchUp) {
        if (!(await catchUp.write(batch))) catchUp = undefined;
      } else if (!response.write(format(batch))) {
        const began = Date.now();
        await drainOrClose(response);
        // A burst of 16 KB or more returns false even when the socket takes it at once.
        if (merge && Date.now() - began >= catchUpFrameMs) catchUp = new CatchUp(response, format);
      }
    }
  } finally {
    clearInterval(keepAlive);
    if (!response.destroyed) response.end();
  }
}
