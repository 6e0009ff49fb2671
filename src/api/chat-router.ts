import type { Client } from '@temporalio/client';
import { createUIMessageStream, pipeUIMessageStreamToResponse } from 'ai';
import { Router, type Response } from 'express';
import { beginning, parseCursor, type Cursor } from '../shared/event-position';
import type { PriceTable } from '../shared/prices';
import type { LiveRelay } from '../relay/live-relay';
import { principalOf } from './auth/authenticate';
import { ChatChunks, type ChatUIMessage } from './chat-chunks';
import { chatIdSchema, chatRequestSchema, chatSessionId, parseChatRequest } from './chat-request';
import type { StreamSlots } from './stream-slots';
import { HttpError } from './errors';
import { drainOrClose } from './sse';
import type { RunAdmission } from './run-admission';
import { RunCosts } from './run-costs';
import { turnSettings, type RunDefaults } from './run-defaults';
import { RunReader } from './run-reader';
import type { RunStore } from './run-store';
import { streamRun, type RunStreamOptions } from './run-stream';
import { SessionNotFoundError, type SessionStore } from './session-store';
import { sendTurn } from './sessions-router';
import { SharedRunSources } from './shared-sources';
import type { SseOptions } from './sse';

// The AI SDK's chat protocol over sessions: POST /v1/chat takes what `useChat` with
// DefaultChatTransport sends and answers with the UI message stream of the turn's run;
// GET /v1/chat/:chatId/stream resumes the chat's running turn (204: none). A chat is a session
// whose id is derived from the tenant and the chat id (chat-request.ts); each message is a turn.

export interface ChatRouterOptions extends RunDefaults {
  client: Client;
  store: RunStore;
  reader?: RunReader;
  relay: LiveRelay;
  sessions: SessionStore;
  /** MAX_STREAMS_PER_TENANT, shared with the other streams of this replica. */
  streamSlots: StreamSlots;
  /** No keys: one tenant, no ownership checks. */
  open: boolean;
  session: { contextChars: number; historyLimit: number };
  admission?: RunAdmission;
  stream?: RunStreamOptions & SseOptions;
  prices?: PriceTable;
  log?: (message: string, error?: unknown) => void;
}

/** Waits until the response takes more, or the client has gone. */
const drained = drainOrClose;

export function chatRouter(options: ChatRouterOptions): Router {
  const router = Router();
  const { sessions, limits } = options;
  const schema = chatRequestSchema({ maxSteps: limits.maxSteps, toolNames: options.toolNames });
  const sources = new SharedRunSources(options.store, options.reader ?? new RunReader(options.client), options.relay);
  const streamOptions = { ...options.stream, costs: new RunCosts(options.prices ?? new Map()) };
  const log = options.log ?? ((message: string, error?: unknown) => console.error(message, error));
  // A tenant's chat streams share MAX_STREAMS_PER_TENANT with its other streams (stream-slots.ts).
  const takeStreamSlot = (tenant: string) => options.streamSlots.take(tenant, 'chat');

  /**
   * The run's events from its start, as one UI message. A subscriber that fell too far behind
   * (streamRun ends without the run's end) goes on from its last event's id, from durable state.
   */
  const pipeRun = async (response: Response, ids: { runId: string; sessionId: string; chatId: string }, release: () => void) => {
    const abort = new AbortController();
    const gone = () => {
      abort.abort();
      release();
    };
    response.on('close', gone);
    // A client that left while its turn was being sent: no stream to follow for it.
    if (response.destroyed) gone();
    const chunks = new ChatChunks(ids);
    const stream = createUIMessageStream<ChatUIMessage>({
      execute: async ({ writer }) => {
        for (const chunk of chunks.start()) writer.write(chunk);
        let from: Cursor = beginning;
        for (let idle = 0; !abort.signal.aborted && !chunks.finished && idle < 3; ) {
          idle++;
          for await (const batch of streamRun(ids.runId, from, sources, abort.signal, streamOptions)) {
            for (const event of batch) for (const chunk of chunks.push(event)) writer.write(chunk);
            from = parseCursor(batch.at(-1)!.id) ?? from;
            idle = 0;
            // The UI stream queues whatever it is given: pull no more while the socket pushes back.
            if (response.writableNeedDrain) await drained(response);
          }
        }
      },
      onError: (error) => {
        log(`chat stream of run ${ids.runId} failed`, error);
        return 'the stream failed; reload to resume it';
      },
    });
    const piped = pipeUIMessageStreamToResponse({ response, stream, keepAliveMs: options.stream?.keepAliveMs ?? 15_000 });
    // Node sends a HEAD answer's headers only at its end (it drops the writes): send them now, as sse.ts does.
    response.flushHeaders();
    await piped;
  };

  router.post('/chat', async (request, response) => {
    const { request: body, input } = parseChatRequest(schema, request.body);
    if (input.length > limits.maxInputChars) {
      throw new HttpError(413, 'input_too_large', `the message has ${input.length} characters; the limit is ${limits.maxInputChars}`);
    }
    const { tenant } = principalOf(request);
    // Checked on every message, used when the session is created.
    const turn = turnSettings(options, body);
    const release = takeStreamSlot(tenant);
    try {
      const sessionId = chatSessionId(tenant, body.id);
      const message = { input, maxSteps: body.maxSteps, maxTokens: body.maxTokens };
      const runId = await sendTurn(options, tenant, sessionId, message).catch(async (error: unknown) => {
        if (!(error instanceof HttpError && error.code === 'session_not_found')) throw error;
        // The chat's first message: its session starts now (an equal one started meanwhile is kept).
        await sessions.create({ tenant, turn, contextChars: options.session.contextChars, historyLimit: options.session.historyLimit }, sessionId);
        return sendTurn(options, tenant, sessionId, message);
      });
      await pipeRun(response, { runId, sessionId, chatId: body.id }, release);
    } finally {
      release();
    }
  });

  router.get('/chat/:chatId/stream', async (request, response) => {
    const chatId = chatIdSchema.safeParse(request.params.chatId);
    if (!chatId.success) throw new HttpError(400, 'invalid_request', chatId.error.issues.map((issue) => issue.message).join('; '));
    const { tenant } = principalOf(request);
    const sessionId = chatSessionId(tenant, chatId.data);
    const nothingToResume = () => void response.status(204).end();
    const state = await sessions.get(sessionId, options.open ? undefined : tenant).catch((error: unknown) => {
      if (error instanceof SessionNotFoundError) return undefined;
      throw error;
    });
    if (!state?.running) return nothingToResume();
    // The session records a turn's end a moment after its run closes: the run says.
    const run = await sources.getState(state.running).catch((error: unknown) => {
      if (error instanceof Error && error.name === 'RunNotFoundError') return undefined;
      throw error;
    });
    if (!run || (run.status !== 'running' && run.status !== 'queued') || (!options.open && run.tenant !== tenant)) return nothingToResume();
    const release = takeStreamSlot(tenant);
    try {
      await pipeRun(response, { runId: run.runId, sessionId, chatId: chatId.data }, release);
    } finally {
      release();
    }
  });

  return router;
}
