import { Router, type Request } from 'express';
import { z } from 'zod';
import { principalOf } from './auth/authenticate';
import type { StreamTokens } from './auth/stream-tokens';
import type { RunAdmission } from './run-admission';
import { HttpError } from './errors';
import { idPattern, turnSettings, type RunDefaults } from './run-defaults';
import { describeIssues, sessionRequestSchemas } from './run-request';
import { SessionNotFoundError, TurnRefusedError, type SessionStore } from './session-store';

export interface SessionsRouterOptions extends RunDefaults {
  sessions: SessionStore;
  streamTokens: StreamTokens;
  /** No keys: one tenant, no ownership checks. */
  open: boolean;
  session: { contextChars: number; historyLimit: number };
  /** MAX_RUNNING_RUNS_PER_TENANT: a message starts a run. */
  admission?: RunAdmission;
}

/**
 * A session's next turn: admitted against the tenant's running runs, refused (409) while the last
 * turn runs, 404 for a session that is not the tenant's. Returns the turn's run id. Shared with
 * the chat route (chat-router.ts).
 */
export async function sendTurn(
  options: Pick<SessionsRouterOptions, 'sessions' | 'admission' | 'open'>,
  tenant: string,
  sessionId: string,
  message: { input: string; maxSteps?: number; maxTokens?: number },
): Promise<string> {
  await options.admission?.admit(tenant);
  try {
    return await options.sessions.send(sessionId, message, options.open ? undefined : tenant);
  } catch (error) {
    options.admission?.release(tenant);
    if (error instanceof TurnRefusedError) throw new HttpError(409, 'turn_in_progress', error.message);
    if (error instanceof SessionNotFoundError) throw new HttpError(404, 'session_not_found', error.message);
    throw error;
  }
}

export function sessionsRouter(options: SessionsRouterOptions): Router {
  const { sessions, limits } = options;
  const router = Router();
  // Shared with the OpenAPI document (src/api/openapi/), built from the same limits.
  const { create: createSchema, message: messageSchema } = sessionRequestSchemas({ maxSteps: limits.maxSteps, toolNames: options.toolNames });
  const links = (sessionId: string) => ({ self: `/v1/sessions/${sessionId}`, messages: `/v1/sessions/${sessionId}/messages` });

  const json = <T>(request: Request, schema: z.ZodType<T>): T => {
    if (!request.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    const parsed = schema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid_request', describeIssues(parsed.error));
    return parsed.data;
  };
  const sessionId = (request: Request) => {
    const id = String(request.params.sessionId);
    if (!idPattern.test(id)) throw new HttpError(404, 'session_not_found', `no session with id "${id.slice(0, 200)}"`);
    return id;
  };
  const notFound = (error: unknown) => {
    if (error instanceof SessionNotFoundError) throw new HttpError(404, 'session_not_found', error.message);
    throw error;
  };

  router.post('/sessions', async (request, response) => {
    const body = json(request, createSchema);
    const id = await sessions.create({
      tenant: principalOf(request).tenant,
      turn: turnSettings(options, body),
      contextChars: options.session.contextChars,
      historyLimit: options.session.historyLimit,
    });
    response.status(201).location(`/v1/sessions/${id}`).json({ sessionId: id, links: links(id) });
  });

  router.post('/sessions/:sessionId/messages', async (request, response) => {
    const body = json(request, messageSchema);
    const id = sessionId(request);
    if (body.input.length > limits.maxInputChars) {
      throw new HttpError(413, 'input_too_large', `input has ${body.input.length} characters; the limit is ${limits.maxInputChars}`);
    }
    const { tenant } = principalOf(request);
    const runId = await sendTurn(options, tenant, id, body);
    const { token, expiresAt } = await options.streamTokens.mint(runId, tenant);
    response.status(202).json({
      sessionId: id,
      runId,
      streamToken: token,
      streamTokenExpiresAt: expiresAt,
      links: { run: `/v1/runs/${runId}`, events: `/v1/runs/${runId}/events?token=${encodeURIComponent(token)}`, session: `/v1/sessions/${id}` },
    });
  });

  router.get('/sessions/:sessionId', async (request, response) => {
    const id = sessionId(request);
    const { tenant: _tenant, ...state } = await sessions.get(id, options.open ? undefined : principalOf(request).tenant).catch(notFound);
    response.json({ ...state, links: links(id) });
  });

  return router;
}
