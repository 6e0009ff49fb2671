import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { Access } from './auth/access';
import { authenticate, requireScope } from './auth/authenticate';
import { loopbackHostsOnly } from './auth/host-check';
import { StreamTokens } from './auth/stream-tokens';
import { HttpError, errorHandler, notFoundHandler } from './errors';
import { runsRouter, type RunsRouterOptions } from './runs-router';
import { SessionStore } from './session-store';
import { sessionsRouter } from './sessions-router';

export interface AppOptions extends Omit<RunsRouterOptions, 'streamTokens' | 'open'> {
  client: Client;
  taskQueue: string;
  /** Who may call (default: open, loopback Host headers only). */
  access?: Access;
  /** Browser origins allowed by CORS (none by default). */
  corsOrigins?: string[];
  streamTokens?: StreamTokens;
  session: { contextChars: number; historyLimit: number };
  log?: (message: string, error?: unknown) => void;
}

/** State-changing requests carry JSON: a cross-site form post (or a simple request) is refused. */
const jsonOnly: RequestHandler = (request, _response, next) => {
  if (request.method !== 'POST' || request.is('application/json')) return next();
  next(new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json (an empty body is {})'));
};

export function createApp(options: AppOptions): Express {
  const access = options.access ?? { open: true, loopbackOnly: true };
  const streamTokens = options.streamTokens ?? new StreamTokens(undefined);
  const app = express();
  app.disable('x-powered-by');
  // Security headers; a JSON and SSE API serves no scripts or frames.
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  app.use(
    cors({
      origin: options.corsOrigins ?? [],
      methods: ['GET', 'POST'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
      exposedHeaders: ['Last-Event-ID', 'Location'],
      maxAge: 600,
    }),
  );
  if (access.loopbackOnly) app.use(loopbackHostsOnly());

  app.get('/healthz', async (_request, response) => {
    try {
      await options.client.workflowService.getSystemInfo({});
      response.json({ status: 'ok', temporal: 'ok' });
    } catch (error) {
      response.status(503).json({ error: { code: 'temporal_unavailable', message: (error as Error).message } });
    }
  });
  // Every /v1 route: who is calling, then the scope the route needs (stream tokens: reads of one run).
  app.use('/v1', authenticate({ keys: 'keys' in access ? access.keys : undefined, tokens: streamTokens, open: access.open }), jsonOnly, express.json({ limit: '2mb' }));
  app.post('/v1/runs', requireScope('runs:write'));
  app.get(['/v1/runs/:runId', '/v1/runs/:runId/events'], requireScope('runs:read'));
  app.post('/v1/runs/:runId/stream-tokens', requireScope('runs:read'));
  app.post('/v1/runs/:runId/cancel', requireScope('runs:cancel'));
  app.post('/v1/runs/:runId/approvals/:callId', requireScope('approvals:decide'));
  app.use('/v1/sessions', requireScope('sessions'));
  app.use('/v1', runsRouter({ ...options, streamTokens, open: access.open }));
  app.use('/v1', sessionsRouter({ ...options, streamTokens, open: access.open, sessions: new SessionStore(options.client, options.taskQueue) }));
  app.use(notFoundHandler);
  app.use(errorHandler(options.log ?? ((message, error) => console.error(message, error))));
  return app;
}
