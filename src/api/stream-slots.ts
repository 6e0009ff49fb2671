import { HttpError } from './errors';

// MAX_STREAMS_PER_TENANT: how many streams one tenant may hold open on this API replica, of every
// kind together: SSE on /v1/runs/:runId/events, useChat streams on /v1/chat, and MCP start_run
// calls that follow their run. One counter for all, so no door doubles a tenant's share.

export type StreamKind = 'events' | 'chat' | 'mcp';

/** Told of each stream as it opens (+1) and closes (-1): the sse_subscribers gauge. */
export type StreamCounter = (kind: StreamKind, change: 1 | -1) => void;

export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly max = Number.POSITIVE_INFINITY,
    private readonly counter?: StreamCounter,
  ) {}

  /** A slot for the tenant, or undefined when it holds the maximum. The function gives it back (once). */
  tryTake(tenant: string, kind: StreamKind): (() => void) | undefined {
    const open = this.open.get(tenant) ?? 0;
    if (open >= this.max) return undefined;
    this.open.set(tenant, open + 1);
    this.counter?.(kind, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.counter?.(kind, -1);
      const left = (this.open.get(tenant) ?? 1) - 1;
      if (left > 0) this.open.set(tenant, left);
      else this.open.delete(tenant);
    };
  }

  /** As tryTake, or a 429 too_many_streams. */
  take(tenant: string, kind: StreamKind): () => void {
    const release = this.tryTake(tenant, kind);
    if (!release) throw new HttpError(429, 'too_many_streams', this.refusal(tenant) + '; close one and retry', { 'Retry-After': '5' });
    return release;
  }

  /** Why a tenant gets no more: how many it holds and the limit (never a secret). */
  refusal(tenant: string): string {
    return `tenant "${tenant}" has ${this.openFor(tenant)} streams open on this API (run events, chat streams and MCP calls that follow a run; MAX_STREAMS_PER_TENANT is ${this.max})`;
  }

  openFor(tenant: string): number {
    return this.open.get(tenant) ?? 0;
  }
}
