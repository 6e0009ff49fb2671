import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { Client } from '@temporalio/client';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import proto from '@temporalio/proto';
import { positionLabel, type EventPosition } from '../shared/event-position';
import type { StreamEvent, ToolProgress } from '../shared/events';
import type { LiveRelay, StepPublisher, StreamCoordinates, Subscription } from './live-relay';
import { QueueSubscription } from './event-queue';
import { RelayKeys, hostAllowed, relayHeaders } from './relay-auth';
import type { Metrics } from '../telemetry/metrics';

// The live tier seen from an API process that runs no activities. For a run it reads the
// stream endpoints of the workers (their addresses come from the task queue's pollers and from
// the run's activity heartbeats) and merges what they send. A worker it cannot reach is read
// through its activities' heartbeat details instead: slower, and only tool progress, but not
// silent; the stream's gaps are then filled from durable state as always. https:// addresses are
// read with the worker's certificate verified (RELAY_TLS_CA_FILE, else the system roots).

export interface RemoteRelayOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  secret: string;
  /** RELAY_ALLOWED_HOSTS: when set, no other stream address is ever contacted. */
  allowedHosts?: string[];
  /** RELAY_TLS_CA_FILE (PEM): the only CA trusted for https:// addresses; RELAY_TLS_REQUIRED: never contact http:// ones. */
  tls?: { ca?: string; required?: boolean };
  log: (line: string) => void;
  /** How often a subscription looks for new workers and in-flight activities. */
  discoveryMs?: number;
  /** After a failed connection, how long before a worker is tried again. */
  retryMs?: number;
  /** Connections, reconnections, failures and heartbeat fallbacks (src/telemetry/metrics.ts). */
  metrics?: Metrics;
}

/** Heartbeat details of a tool call (see run-tool.ts), as far as the fallback needs them. */
interface HeartbeatDetails extends StreamCoordinates {
  step?: number;
  callIndex?: number;
  callCount?: number;
  callId?: string;
  name?: string;
  progressSeq?: number;
  progress?: ToolProgress;
}

const { TaskQueueType } = proto.temporal.api.enums.v1;

export class RemoteRelay implements LiveRelay {
  readonly address = 'api';
  private pollers?: { urls: string[]; at: number };
  readonly unreachable = new Map<string, number>();
  readonly keys: RelayKeys;
  private readonly refused = new Set<string>();

  constructor(readonly options: RemoteRelayOptions) {
    this.keys = new RelayKeys(options.secret);
  }

  /** Whether this API may contact a stream address it learned from Temporal (logged once if not). */
  mayContact(url: string): boolean {
    if (!/^https?:\/\//.test(url)) return false;
    if (!hostAllowed(url, this.options.allowedHosts ?? [])) {
      if (!this.refused.has(url)) {
        this.refused.add(url);
        this.options.log(`worker stream ${url.slice(0, 200)} is not in RELAY_ALLOWED_HOSTS; not contacted`);
      }
      return false;
    }
    if (this.options.tls?.required && !url.startsWith('https://')) {
      // An address of our own workers, only not private: read its heartbeat details, as for one
      // that cannot be reached, and never ask it again.
      if (!this.refused.has(url)) {
        this.refused.add(url);
        this.options.log(`worker stream ${url.slice(0, 200)} is plain http and RELAY_TLS_REQUIRED is set; not contacted, reading progress from heartbeat details instead`);
      }
      this.unreachable.set(url, Number.POSITIVE_INFINITY);
      return false;
    }
    return true;
  }

  /** Opens a worker's stream: node:http(s), so that https verifies against RELAY_TLS_CA_FILE when set. */
  get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    return this.send('GET', url, headers, signal);
  }

  private send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      // Idle for longer than a few of the worker's 15 s keep-alives: not a live stream any more.
      const options = { method, headers, signal, timeout: 60_000 };
      const ca = this.options.tls?.ca;
      const request = target.protocol === 'https:' ? httpsRequest(target, ca ? { ...options, ca } : options, resolve) : httpRequest(target, options, resolve);
      request.on('timeout', () => request.destroy(new Error('no data for 60 s')));
      request.on('error', reject);
      request.end();
    });
  }

  openStream(): StepPublisher {
    throw new Error('an API process runs no activities, so it opens no streams');
  }

  /**
   * Tells every worker this API may contact that the run was cancelled (POST
   * /runs/<runId>/cancel, with a proof as for a stream): the one running its step stops it at once.
   * Best effort: a worker that cannot be reached learns it from Temporal, as before.
   */
  cancelRun(runId: string): void {
    void (async () => {
      const urls = new Set([...(await this.workerUrls().catch(() => [] as string[])), ...(this.hubs.get(runId)?.upstreamUrls() ?? [])]);
      await Promise.all(
        [...urls]
          .filter((url) => this.mayContact(url) && !this.isUnreachable(url))
          .map(async (url) => {
            const auth = this.keys.request(url, runId);
            const headers = { [relayHeaders.nonce]: auth.nonce, [relayHeaders.time]: auth.time, [relayHeaders.proof]: auth.proof, [relayHeaders.lines]: 'plain' };
            try {
              const response = await this.send('POST', `${url}/runs/${encodeURIComponent(runId)}/cancel`, headers, AbortSignal.timeout(5000));
              response.resume();
            } catch {
              // Temporal's own cancellation reaches that worker's activities with their next heartbeat.
            }
          }),
      );
    })();
  }

  private readonly hubs = new Map<string, RunHub>();

  subscribe(runId: string): Subscription {
    let hub = this.hubs.get(runId);
    if (!hub) {
      const created: RunHub = new RunHub(runId, this, () => this.hubs.get(runId) === created && this.hubs.delete(runId));
      this.hubs.set(runId, created);
      hub = created;
    }
    return hub.add();
  }

  /** The latest usage estimate of a run this API already reads for its SSE clients (no new reads for it). */
  latestUsage(runId: string): StreamEvent | undefined {
    return this.hubs.get(runId)?.latestUsage();
  }

  /** How many SSE subscribers of this process watch a run (for tests and metrics). */
  subscribers(runId: string): number {
    return this.hubs.get(runId)?.size ?? 0;
  }

  /** Stream endpoints of the workers polling the task queue, from their identities (cached 2 s). */
  async workerUrls(): Promise<string[]> {
    if (this.pollers && Date.now() - this.pollers.at < 2000) return this.pollers.urls;
    const response = await this.options.client.workflowService.describeTaskQueue({
      namespace: this.options.namespace,
      taskQueue: { name: this.options.taskQueue },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    const urls = (response.pollers ?? []).flatMap((poller) => /\brelay=(https?:\/\/\S+)/.exec(poller.identity ?? '')?.[1] ?? []);
    this.pollers = { urls: [...new Set(urls)], at: Date.now() };
    return this.pollers.urls;
  }

  /** The pollers' stream addresses now, not from the cache (tests). */
  async workerUrlsFresh(): Promise<string[]> {
    this.pollers = undefined;
    return this.workerUrls();
  }

  /** Heartbeat details of the run's activities in flight. */
  async inFlight(runId: string): Promise<HeartbeatDetails[]> {
    const description = await this.options.client.workflow.getHandle(runId).describe();
    // Through the client's data converter: with PAYLOAD_KEYS the details are encrypted.
    const converter = this.options.client.options.loadedDataConverter;
    const details = await Promise.all(
      (description.raw.pendingActivities ?? []).map(async (activity) => {
        const payloads = activity.heartbeatDetails?.payloads;
        if (!payloads?.length) return [];
        try {
          return [await decodeFromPayloadsAtIndex<HeartbeatDetails>(converter, 0, payloads)];
        } catch {
          return [];
        }
      }),
    );
    return details.flat();
  }

  markUnreachable(url: string, reason: string): void {
    this.options.metrics?.relayFailures.inc();
    if (!this.unreachable.has(url)) {
      this.options.log(`worker stream ${url} unreachable (${reason}); reading progress from heartbeat details instead`);
    }
    this.unreachable.set(url, Date.now() + (this.options.retryMs ?? 5000));
  }

  isUnreachable(url: string): boolean {
    const until = this.unreachable.get(url);
    return until !== undefined && until > Date.now();
  }
}

/** The step an event belongs to (0: the run's own). */
function stepOf(position: EventPosition): number {
  return position.kind === 'run-start' ? 0 : position.kind === 'run-end' ? Number.POSITIVE_INFINITY : position.step;
}

/** While every worker stream is readable, a run's in-flight activities are read every this many discovery ticks. */
const inFlightEvery = 5;

/**
 * What one API process reads of one run's live tier, shared by all its subscribers there: one
 * discovery loop and one stream per worker, however many SSE clients watch the run. Events are
 * kept for subscribers that join later (the workers replay theirs only when a stream opens), but
 * only those of the latest step: an earlier step's events are in durable state by the time a later
 * step starts, and subscribers fill gaps from there.
 */
class RunHub {
  private readonly subscribers = new Set<QueueSubscription>();
  private buffer: StreamEvent[] = [];
  private readonly seen = new Set<string>();
  private latestStep = 0;
  /** Discovery ticks so far (in-flight activities are read every inFlightEvery-th). */
  private ticks = 0;
  private readonly upstreams = new Map<string, AbortController>();
  /** Workers this hub has read the run from: a new connection to one is a reconnection. */
  private readonly connectedBefore = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly runId: string,
    private readonly relay: RemoteRelay,
    private readonly onClose: () => void,
  ) {
    void this.discover();
    this.timer = setInterval(() => void this.discover(), relay.options.discoveryMs ?? 1000);
  }

  add(): Subscription {
    const subscription: QueueSubscription = new QueueSubscription(() => {
      this.subscribers.delete(subscription);
      if (this.subscribers.size === 0) this.close();
    });
    for (const event of this.buffer) subscription.deliver(event);
    this.subscribers.add(subscription);
    return subscription;
  }

  get size(): number {
    return this.subscribers.size;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const controller of this.upstreams.values()) controller.abort();
    this.relay.options.metrics?.relayUpstreams.dec(this.upstreams.size);
    this.upstreams.clear();
    this.onClose();
  }

  latestUsage(): StreamEvent | undefined {
    return this.buffer.findLast((event) => event.event === 'usage.updated');
  }

  /** The workers this hub reads the run's streams from now. */
  upstreamUrls(): string[] {
    return [...this.upstreams.keys()];
  }

  /** Whether the event was new (and so went to the subscribers). */
  private deliver(event: StreamEvent): boolean {
    if (this.closed) return false;
    // A stream that reopens replays what it had; heartbeat details repeat until they change.
    const label = positionLabel(event.position);
    if (this.seen.has(label)) return false;
    const step = stepOf(event.position);
    if (step > this.latestStep) {
      this.latestStep = step;
      this.buffer = this.buffer.filter((kept) => stepOf(kept.position) >= step);
      this.seen.clear();
      for (const kept of this.buffer) this.seen.add(positionLabel(kept.position));
    }
    this.seen.add(label);
    this.buffer.push(event);
    for (const subscriber of this.subscribers) subscriber.deliver(event);
    return true;
  }

  private async discover() {
    if (this.closed) return;
    try {
      const urls = await this.relay.workerUrls();
      // The run's in-flight activities (a describe of the run) matter when a worker's stream
      // cannot be read (progress then comes from their heartbeat details) or a worker is not among
      // the pollers; while every poller's stream is readable they are looked at every 5th tick only.
      const troubled = urls.length === 0 || urls.some((url) => !this.relay.mayContact(url) || this.relay.isUnreachable(url));
      const inFlight = troubled || this.ticks++ % inFlightEvery === 0 ? await this.relay.inFlight(this.runId) : [];
      // The last subscriber may have left while Temporal answered: connect to nothing then.
      if (this.closed) return;
      const wanted = new Set([...urls, ...inFlight.map((details) => details.relay)].filter((url) => typeof url === 'string' && this.relay.mayContact(url)));
      for (const url of wanted) if (!this.upstreams.has(url) && !this.relay.isUnreachable(url)) this.connect(url);
      for (const details of inFlight) if (this.relay.unreachable.has(details.relay)) this.fromHeartbeat(details);
    } catch {
      // Temporal unreachable or the run gone: durable state will say; try again next tick.
    }
  }

  private connect(url: string) {
    const controller = new AbortController();
    const metrics = this.relay.options.metrics;
    this.upstreams.set(url, controller);
    metrics?.relayUpstreams.inc();
    void (async () => {
      try {
        // A proof for this address only: the secret itself never leaves this process.
        const auth = this.relay.keys.request(url, this.runId);
        const headers = { [relayHeaders.nonce]: auth.nonce, [relayHeaders.time]: auth.time, [relayHeaders.proof]: auth.proof, [relayHeaders.lines]: 'plain' };
        const response = await this.relay.get(`${url}/runs/${encodeURIComponent(this.runId)}/events`, headers, controller.signal);
        // Redirects are not followed: a worker answers its stream itself.
        if (response.statusCode !== 200) {
          response.destroy();
          throw new Error(`HTTP ${response.statusCode}`);
        }
        // The worker proves it knows the secret, for this run and this request; a worker from
        // before such proofs signs every line instead. Anything else is not a worker of ours.
        const proof = response.headers[relayHeaders.streamProof];
        const proven = typeof proof === 'string';
        if (proven && !this.relay.keys.verifyStreamProof(this.runId, auth.nonce, proof)) {
          response.destroy();
          throw new Error('a stream without a valid proof for this run');
        }
        this.relay.unreachable.delete(url);
        metrics?.relayConnects.inc({ result: this.connectedBefore.has(url) ? 'reconnect' : 'connected' });
        this.connectedBefore.add(url);
        // Ended by close(): the abort destroys the request, and with it the body being read.
        controller.signal.addEventListener('abort', () => response.destroy(), { once: true });
        if (controller.signal.aborted) response.destroy();
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response) {
          buffer += decoder.decode(chunk as Buffer, { stream: true });
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            const event = proven ? this.relay.keys.plainLine(this.runId, line) : this.relay.keys.verifyLine(this.runId, auth.nonce, line);
            // A stream that sends one event not of this run (or not signed for it) is not a worker of ours.
            if (!event) throw new Error('an event not signed for this run');
            this.deliver(event);
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) this.relay.markUnreachable(url, (error as Error).message);
      } finally {
        if (this.upstreams.get(url) === controller) {
          this.upstreams.delete(url);
          metrics?.relayUpstreams.dec();
        }
      }
    })();
  }

  /**
   * What heartbeat details can say without the worker: a tool call's latest progress. (Its start
   * comes from durable state, which the stream reads when this event arrives before it.)
   */
  private fromHeartbeat(details: HeartbeatDetails) {
    const { step, callIndex, callCount, callId, name, progressSeq, progress } = details;
    if (step === undefined || callIndex === undefined || callCount === undefined || !callId || !name) return;
    if (!progress || !progressSeq) return;
    const position = { kind: 'tool' as const, step, call: callIndex, calls: callCount, mark: 1 + progressSeq };
    if (this.deliver({ position, event: 'tool.progress', data: { runId: this.runId, step, callId, name, progress } })) this.relay.options.metrics?.relayHeartbeatEvents.inc();
  }
}
