import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import { errorHandler, notFoundHandler } from './errors';
import { runsRouter, type RunsRouterOptions } from './runs-router';
import { SessionStore } from './session-store';
import { sessionsRouter } from './sessions-router';

export interface AppOptions extends RunsRouterOptions {
  client: Client;
  taskQueue: string;
  session: { contextChars: number; historyLimit: number };
  log?: (message: string, error?: unknown) => void;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '2mb' }));

  app.get('/healthz', async (_request, response) => {
    try {
      await options.client.workflowService.getSystemInfo({});
      response.json({ status: 'ok', temporal: 'ok' });
    } catch (error) {
      response.status(503).json({ error: { code: 'temporal_unavailable', message: (error as Error).message } });
    }
  });
  app.use('/v1', runsRouter(options));
  app.use('/v1', sessionsRouter({ ...options, sessions: new SessionStore(options.client, options.taskQueue) }));
  app.use(notFoundHandler);
  app.use(errorHandler(options.log ?? ((message, error) => console.error(message, error))));
  return app;
}
