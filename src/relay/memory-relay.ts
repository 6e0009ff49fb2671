import { randomUUID } from 'node:crypto';
import { positionLabel } from '../shared/event-position';
import type { StreamEvent } from '../shared/events';
import { QueueSubscription } from './event-queue';
import type { LiveRelay, StepPublisher, Subscription } from './live-relay';

// The in-process relay: activities and SSE subscribers share one process (`npm start`).

interface Stream {
  events: StreamEvent[];
  expiry?: NodeJS.Timeout;
  /** The latest usage.updated, while the stream is open. */
  usage?: StreamEvent;
}

export class MemoryRelay implements LiveRelay {
  /** memory://… until a relay server advertises this relay at its URL. */
  address = `memory://${randomUUID()}`;
  private readonly streams = new Map<string, Map<string, Stream>>();
  private readonly subscribers = new Map<string, Set<QueueSubscription>>();

  /** @param retentionMs how long a finished stream stays readable, so the durable tier can catch up. */
  constructor(private readonly retentionMs = 30_000) {}

  openStream(runId: string, key: string): StepPublisher {
    let runStreams = this.streams.get(runId);
    if (!runStreams) this.streams.set(runId, (runStreams = new Map()));
    const previous = runStreams.get(key);
    if (previous?.expiry) clearTimeout(previous.expiry);
    const stream: Stream = { events: [] };
    runStreams.set(key, stream);
    return {
      publish: (event) => {
        stream.events.push(event);
        if (event.event === 'usage.updated') stream.usage = event;
        for (const subscriber of this.subscribers.get(runId) ?? []) subscriber.deliver(event);
      },
      // Labelled when a heartbeat asks (about once a second), not at every event.
      get cursor() {
        const last = stream.events.at(-1);
        return last ? positionLabel(last.position) : undefined;
      },
      close: () => {
        stream.usage = undefined;
        stream.expiry = setTimeout(() => {
          if (runStreams.get(key) === stream) runStreams.delete(key);
          if (runStreams.size === 0 && this.streams.get(runId) === runStreams) this.streams.delete(runId);
        }, this.retentionMs);
        stream.expiry.unref();
      },
    };
  }

  subscribe(runId: string): Subscription {
    let set = this.subscribers.get(runId);
    if (!set) this.subscribers.set(runId, (set = new Set()));
    const subscription: QueueSubscription = new QueueSubscription(() => {
      set.delete(subscription);
      if (set.size === 0) this.subscribers.delete(runId);
    });
    set.add(subscription);
    for (const stream of this.streams.get(runId)?.values() ?? []) {
      for (const event of stream.events) subscription.deliver(event);
    }
    return subscription;
  }

  latestUsage(runId: string): StreamEvent | undefined {
    let latest: StreamEvent | undefined;
    for (const stream of this.streams.get(runId)?.values() ?? []) {
      if (stream.usage && (!latest || stream.usage.data.step > latest.data.step)) latest = stream.usage;
    }
    return latest;
  }

  private readonly cancelListeners = new Map<string, Set<() => void>>();
  /** Runs cancelled lately: an activity that starts just after still hears of it. */
  private readonly cancelled = new Map<string, NodeJS.Timeout>();

  cancelRun(runId: string): void {
    clearTimeout(this.cancelled.get(runId));
    const forget = setTimeout(() => this.cancelled.delete(runId), this.retentionMs);
    forget.unref();
    this.cancelled.set(runId, forget);
    for (const listener of [...(this.cancelListeners.get(runId) ?? [])]) listener();
  }

  onCancel(runId: string, listener: () => void): () => void {
    if (this.cancelled.has(runId)) {
      queueMicrotask(listener);
      return () => undefined;
    }
    let listeners = this.cancelListeners.get(runId);
    if (!listeners) this.cancelListeners.set(runId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.cancelListeners.get(runId) === listeners) this.cancelListeners.delete(runId);
    };
  }

  /** Number of runs with open or retained streams (for tests and metrics). */
  get retainedRuns(): number {
    return this.streams.size;
  }

  /** Number of open subscriptions to a run (for tests and metrics). */
  subscriptions(runId: string): number {
    return this.subscribers.get(runId)?.size ?? 0;
  }
}
