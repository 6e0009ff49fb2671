import type { StreamEvent } from '../shared/events';
import type { Subscription } from './live-relay';

/** A reader this far behind is cut off: it resumes from durable state with Last-Event-ID. */
export const maxQueuedEvents = 10_000;

/** Events waiting for one reader: next() resolves at once if one is queued, else when one comes. */
export class EventQueue {
  private readonly queue: StreamEvent[] = [];
  private waiter?: (event: StreamEvent) => void;
  private ready?: () => void;
  closed = false;
  /** Closed because the reader fell more than maxQueuedEvents behind. */
  overflowed = false;

  constructor(private readonly maxQueued = maxQueuedEvents) {}

  deliver(event: StreamEvent): void {
    if (this.closed) return;
    if (!this.waiter && this.queue.length >= this.maxQueued) {
      this.overflowed = true;
      this.close();
      return;
    }
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(event);
      return;
    }
    this.queue.push(event);
    const ready = this.ready;
    this.ready = undefined;
    ready?.();
  }

  /**
   * Calls `callback` once when an event is queued (at once if one is), for a reader that takes
   * them with drain(): no promise per event.
   */
  onReady(callback: () => void): void {
    if (this.closed) return;
    if (this.queue.length > 0) callback();
    else this.ready = callback;
  }

  next(): Promise<StreamEvent> {
    const event = this.queue.shift();
    if (event) return Promise.resolve(event);
    // A closed queue never resolves again; its reader has stopped reading.
    return new Promise((resolve) => {
      if (!this.closed) this.waiter = resolve;
    });
  }

  /** Takes every event queued now, without waiting. */
  drain(): StreamEvent[] {
    return this.queue.splice(0);
  }

  /** Returns false if it was already closed. */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.waiter = undefined;
    this.ready = undefined;
    this.queue.length = 0;
    return true;
  }
}

/** One subscriber's queue, which tells its relay when the subscriber leaves. */
export class QueueSubscription extends EventQueue implements Subscription {
  constructor(
    private readonly onClose: () => void,
    maxQueued?: number,
  ) {
    super(maxQueued);
  }

  override close(): boolean {
    const closing = super.close();
    if (closing) this.onClose();
    return closing;
  }
}
