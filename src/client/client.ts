import type {
  CancelledRun,
  CreatedRun,
  CreatedSession,
  CreateRunRequest,
  CreateSessionRequest,
  DecidedCall,
  Decision,
  ListRunsQuery,
  MintedStreamToken,
  RunDetails,
  RunList,
  RunListItem,
  SentMessage,
  Session,
  SessionMessage,
  TemporalLinks,
  ToolInfo,
} from './api-types';
import { segment, Transport, type ClientOptions } from './http';
import { RunEventStream, type StreamRunOptions } from './run-stream';

// The API as typed methods (README, API). Node 18+ and browsers: fetch and web streams only.

export interface DurableAgentsClientOptions extends ClientOptions {
  /**
   * A fresh stream token for a run whose token expired mid-stream (a browser asks its backend).
   * Default with an apiKey: POST /v1/runs/:runId/stream-tokens.
   */
  refreshStreamToken?: (runId: string) => Promise<string>;
}

type Query = { signal?: AbortSignal };

export class DurableAgentsClient {
  private readonly transport: Transport;

  constructor(private readonly options: DurableAgentsClientOptions) {
    this.transport = new Transport(options);
  }

  createRun(body: CreateRunRequest, options: Query = {}): Promise<CreatedRun> {
    return this.transport.json('POST', '/v1/runs', { body, ...options });
  }

  /** One page of the run's steps, from `fromStep` (`nextStep` says where the next starts). */
  getRun(runId: string, options: Query & { fromStep?: number } = {}): Promise<RunDetails> {
    return this.transport.json('GET', `/v1/runs/${segment(runId)}`, { query: { fromStep: options.fromStep }, signal: options.signal });
  }

  /** Where the run, its steps and tool calls are in the Temporal Web UI (reads histories: ask when needed). */
  temporalLinks(runId: string, options: Query & { fromStep?: number } = {}): Promise<TemporalLinks> {
    return this.transport.json('GET', `/v1/runs/${segment(runId)}/temporal-links`, { query: { fromStep: options.fromStep }, signal: options.signal });
  }

  /** One page of the caller's runs, newest first; pass `nextCursor` back as `cursor` for the next. */

  listRuns(query: ListRunsQuery = {}, options: Query = {}): Promise<RunList> {
    return this.transport.json('GET', '/v1/runs', { query: { status: query.status, limit: query.limit, cursor: query.cursor }, ...options });
  }

  /** Every run matching `query`, newest first, page after page. */
  async *allRuns(query: Omit<ListRunsQuery, 'cursor'> = {}, options: Query = {}): AsyncGenerator<RunListItem> {
    let cursor: string | undefined;
    do {
      const page = await this.listRuns({ ...query, cursor }, options);
      yield* page.runs;
      cursor = page.nextCursor;
    } while (cursor);
  }

  cancel(runId: string, options: Query = {}): Promise<CancelledRun> {
    return this.transport.json('POST', `/v1/runs/${segment(runId)}/cancel`, options);
  }

  /** Approves or denies a call that waits for a decision (approval.requested). */
  decide(runId: string, callId: string, decision: Decision, options: Query = {}): Promise<DecidedCall> {
    return this.transport.json('POST', `/v1/runs/${segment(runId)}/approvals/${segment(callId)}`, { body: decision, ...options });
  }

  /** A fresh read-only token for one run's events (for EventSource, or a browser without a key). */
  createStreamToken(runId: string, options: Query = {}): Promise<MintedStreamToken> {
    return this.transport.json('POST', `/v1/runs/${segment(runId)}/stream-tokens`, options);
  }

  createSession(body: CreateSessionRequest = {}, options: Query = {}): Promise<CreatedSession> {
    return this.transport.json('POST', '/v1/sessions', { body, ...options });
  }

  /** Starts the session's next turn: a run of its own, streamed like any run. */
  sendMessage(sessionId: string, message: SessionMessage, options: Query = {}): Promise<SentMessage> {
    return this.transport.json('POST', `/v1/sessions/${segment(sessionId)}/messages`, { body: message, ...options });
  }

  getSession(sessionId: string, options: Query = {}): Promise<Session> {
    return this.transport.json('GET', `/v1/sessions/${segment(sessionId)}`, options);
  }

  async listTools(options: Query = {}): Promise<ToolInfo[]> {
    return (await this.transport.json<{ tools: ToolInfo[] }>('GET', '/v1/tools', options)).tools;
  }

  /**
   * The run's events as they happen, until its end (run.completed, run.failed, run.cancelled).
   * Reconnects by itself with Last-Event-ID; see RunEventStream.
   */
  streamRun(runId: string, options: StreamRunOptions = {}): RunEventStream {
    const refresh = this.options.refreshStreamToken ?? (this.transport.hasApiKey ? async (id: string) => (await this.createStreamToken(id)).streamToken : undefined);
    return new RunEventStream({ transport: this.transport, ...(refresh ? { refreshToken: refresh } : {}) }, runId, options);
  }
}

export const createClient = (options: DurableAgentsClientOptions) => new DurableAgentsClient(options);
