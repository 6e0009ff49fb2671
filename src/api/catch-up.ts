import type { Response } from 'express';
import type { RunEvent } from '../shared/events';
import { coalesce } from './coalesce';

// A subscriber whose socket pushed back: Node's buffer has held a write for a frame interval, so
// the kernel's (up to megabytes) is full too, and the client is behind by all of it. (A shorter
// wait is a burst the socket took in stride.) Until the step ends, its events go out merged
// (coalesce.ts) and paced: each write waits until the socket has taken it, and the next goes at
// least catchUpFrameMs after it, so that what arrives meanwhile joins one frame. What the client
// lacks waits in its relay subscription, as references to the run's event objects (which the
// relay and the other subscribers hold anyway); Node holds one merged frame for it.
//
// Why until the step ends: the server cannot see when the client has caught up. What it still has
// to read sits in the kernel's buffers and its own, and the kernel says there is room only once a
// good part of its buffer is free (a third on TCP, three quarters on a Unix socket), so a write
// taken at once proves nothing. Going back to a frame per delta too early refills those buffers
// with frames instead of text. A step's end is where merging stops anyway; the next step starts
// with a frame per delta, and a client still behind pushes back again within Node's 16 KB.

export const catchUpFrameMs = 100;

/** Writes and waits until the socket has taken the bytes, or the client has gone. */
function writeTaken(response: Response, frames: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('close', done);
      resolve();
    };
    response.on('close', done);
    response.write(frames, done);
  });
}

function pause(response: Response, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    response.on('close', done);
  });
}

const endsStep = (event: RunEvent) => event.event === 'step.completed' || event.event === 'run.completed' || event.event === 'run.failed' || event.event === 'run.cancelled';

export class CatchUp {
  constructor(
    private readonly response: Response,
    private readonly format: (batch: RunEvent[]) => string,
  ) {}

  /** Writes a batch merged and paced; false once it has carried the step's end. */
  async write(batch: RunEvent[]): Promise<boolean> {
    const began = Date.now();
    await writeTaken(this.response, this.format(batch.length > 1 ? coalesce(batch) : batch));
    if (batch.some(endsStep)) return false;
    await pause(this.response, began + catchUpFrameMs - Date.now());
    return true;
  }
}
