import type { StreamEvent } from '../shared/events';
import type { Usage } from '../shared/run-types';

// The live tier: events of steps that are still running, kept in the memory of the worker that
// runs them and handed to subscribers at once. No broker. The durable tier (workflow state) is
// the source of truth; a subscriber merges both (src/api/run-stream.ts).
//
// This file is the interface; memory-relay.ts serves it in one process. A cross-process relay
// (an API reading a worker's stream at the address in the activity's heartbeat details)
// implements the same interface.

export interface StepPublisher {
  /** Publishes at once to every subscriber of the run, and keeps the event for late subscribers. */
  publish(event: StreamEvent): void;
  /** Where the last published event stands (positionLabel): the cursor that heartbeats advertise. */
  readonly cursor: string | undefined;
  /** The stream is finished; its events stay readable for a short retention time. */
  close(): void;
}

export interface Subscription {
  /** Resolves with the next event: first the buffered events of the run's open streams, then live ones. */
  next(): Promise<StreamEvent>;
  /** Takes the events already waiting, without waiting for more (a burst in one go). */
  drain(): StreamEvent[];
  /** Calls `callback` once, when an event is waiting (at once if one is): drain() then takes it. */
  onReady(callback: () => void): void;
  close(): void;
  /** Closed because its reader fell too far behind (see event-queue.ts). */
  readonly overflowed?: boolean;
}

export interface LiveRelay {
  /** Where this relay's streams can be read; advertised in heartbeat details. */
  readonly address: string;
  /**
   * Opens the stream `key` of a run (an LLM step, a tool call). Opening a key again (a retried
   * attempt) replaces what the earlier attempt left.
   */
  openStream(runId: string, key: string): StepPublisher;
  subscribe(runId: string): Subscription;
  /**
   * The run was cancelled (Temporal has recorded it): tell the activities running its steps now,
   * in this process or on the workers, so they stop at once rather than at their next heartbeat.
   * Temporal's cancellation still follows and stays the source of truth.
   */
  cancelRun(runId: string): void;
  /**
   * The latest usage.updated of the run's model step streaming now, as far as this process can see
   * it without subscribing (GET /v1/runs/:id): a worker's own streams, or what an API already reads
   * for its SSE clients. Undefined otherwise.
   */
  latestUsage?(runId: string): StreamEvent | undefined;
  /** For activities: `listener` runs when cancelRun reaches this process (at once if it already has). */
  onCancel?(runId: string, listener: () => void): () => void;
}

/** What an activity advertises in its heartbeat details: coordinates, never tokens or secrets. */
export interface StreamCoordinates {
  relay: string;
  runId: string;
  stream: string;
  attempt: number;
  /** Id of the last event published, null before the first. */
  cursor: string | null;
  /** A model step's latest usage estimate (token counts only) and the model answering. */
  usage?: Usage;
  model?: string;
}
