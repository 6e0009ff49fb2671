import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { CodecSettings } from '../codec';
import type { Access } from './auth/access';
import { authenticate, requireScope } from './auth/authenticate';
import { loopbackHostsOnly } from './auth/host-check';
import { isWriteMethod, writeRateLimit, type WriteRateLimits } from './auth/rate-limit';
import { StreamTokens } from './auth/stream-tokens';
import { codecRouter } from './codec-router';
import { createOpenApiDocument } from './openapi/document';
import { referenceRouter } from './openapi/reference-router';
import { RunAdmission } from './run-admission';
import { HttpError, errorHandler, notFoundHandler } from './errors';
import { runsRouter, type RunsRouterOptions } from './runs-router';
import { SessionStore } from './session-store';
import { sessionsRouter } from './sessions-router';
import { chatRouter } from './chat-router';
import { consoleRouter } from './console-router';
import { accessLog } from '../telemetry/access-log';
import { errorLog, type Logger } from '../telemetry/logger';
import type { Tracing } from '../telemetry/tracing';
import { StreamSlots } from './stream-slots';
import { countRunningRuns, httpMetrics, metricsRoute } from '../telemetry/http-metrics';
import type { Metrics } from '../telemetry/metrics';
import { toolsRouter } from './tools-router';
import { isMcpWrite, mcpRouter } from './mcp/mcp-router';
import { RunReader } from './run-reader';
import { SharedRunSources } from './shared-sources';
import { RunCosts } from './run-costs';
import type { ToolRegistry } from '../activities/tools/registry';
import { ToolStats } from '../activities/tools/tool-stats';

export interface AppOptions extends Omit<RunsRouterOptions, 'streamTokens' | 'open' | 'streamSlots'> {
  client: Client;
  taskQueue: string;
  /** Structured logs (pino): one access line per request, and the API's errors. */
  logger?: Logger;
  /** Where the built console is (default web/dist). */
  consoleDist?: string;
  /** Who may call (default: open, loopback Host headers only). */
  access?: Access;
  /** Browser origins allowed by CORS (none by default). */
  corsOrigins?: string[];
  streamTokens?: StreamTokens;
  session: { contextChars: number; historyLimit: number };
  limits: RunsRouterOptions['limits'] & WriteRateLimits;
  log?: (message: string, error?: unknown) => void;
  /** Payload encryption: the codec endpoint for the Temporal Web UI (404 when unset). */
  codec?: CodecSettings;
  /** The tools runs may offer (GET /v1/tools); without it the route lists none. */
  tools?: ToolRegistry;
  /** MCP at /mcp: how often progress goes out while a run streams, and at least how often (keep-alive). */
  mcp?: { progressIntervalMs?: number; keepAliveMs?: number };
  /** Prometheus metrics (METRICS, default on): GET /metrics with the `metrics` scope; the SDK's when a worker runs in this process. */
  metrics?: { metrics: Metrics; temporalMetricsUrl?: string };
  /** OpenTelemetry: a span per request, in the caller's trace (src/telemetry/http-spans.ts). */
  tracing?: Pick<Tracing, 'middleware'>;
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
  // Before everything, so that what a request does (the run it starts) is in its span's trace.
  if (options.tracing) app.use(options.tracing.middleware);
  // First, so every request has its line, refused ones too (credentials redacted: access-log.ts).
  if (options.logger) app.use(accessLog(options.logger));
  if (options.metrics) app.use(httpMetrics(options.metrics.metrics));
  // Security headers; a JSON and SSE API serves no scripts or frames.
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  const apiCors = cors({
    origin: options.corsOrigins ?? [],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'Mcp-Protocol-Version'],
    exposedHeaders: ['Last-Event-ID', 'Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
    maxAge: 600,
  });
  // The codec endpoint answers its own CORS (the Temporal UI's origins too).
  app.use((request, response, next) => (request.path.startsWith('/codec/') ? next() : apiCors(request, response, next)));
  if (access.loopbackOnly) app.use(loopbackHostsOnly());
  // GET /openapi.json and /docs, no key needed: the document is made once, from the schemas and limits the routers use.
  const openApi = createOpenApiDocument({ limits: options.limits, toolNames: options.toolNames, access, streamTokenTtlSeconds: streamTokens.ttlSeconds, toolsListed: options.tools !== undefined, metricsServed: options.metrics !== undefined });
  app.use(referenceRouter(openApi));
  // The web console (web/, built into web/dist): its pages load without a key, then ask for one.
  app.use(consoleRouter(options.consoleDist));

  app.get('/healthz', async (_request, response) => {
    try {
      await options.client.workflowService.getSystemInfo({});
      response.json({ status: 'ok', temporal: 'ok' });
    } catch (error) {
      response.status(503).json({ error: { code: 'temporal_unavailable', message: (error as Error).message } });
    }
  });
  app.use('/codec', codecRouter({ settings: options.codec, keys: 'keys' in access ? access.keys : undefined, open: access.open, tokens: streamTokens, corsOrigins: options.corsOrigins ?? [] }));
  // Every /v1 route: who is calling, their budget of writes, then the scope the route needs (stream tokens: reads of one run).
  const authenticated = authenticate({ keys: 'keys' in access ? access.keys : undefined, tokens: streamTokens, open: access.open });
  // One budget of writes per key for both edges: on /mcp the tool calls that start runs or decide count.
  const writes = writeRateLimit({ writesPerMinute: options.limits.writesPerMinute, open: access.open, isWrite: (request) => (request.baseUrl === '/mcp' ? isMcpWrite(request.body) : isWriteMethod(request)) });
  // Prometheus scrapes with a key that has the `metrics` scope (an operator's: the figures span every tenant).
  if (options.metrics) countRunningRuns(options.metrics.metrics, options.client, options.taskQueue);
  if (options.metrics) app.get('/metrics', authenticated, requireScope('metrics'), metricsRoute(options.metrics.metrics, options.metrics.temporalMetricsUrl));
  app.use('/v1', authenticated, writes, jsonOnly, express.json({ limit: '2mb' }));
  app.post('/v1/runs', requireScope('runs:write'));
  app.get(['/v1/runs', '/v1/runs/:runId', '/v1/runs/:runId/events', '/v1/runs/:runId/temporal-links'], requireScope('runs:read'));
  app.post('/v1/runs/:runId/stream-tokens', requireScope('runs:read'));
  app.post('/v1/runs/:runId/cancel', requireScope('runs:cancel'));
  app.post('/v1/runs/:runId/approvals/:callId', requireScope('approvals:decide'));
  app.use(['/v1/sessions', '/v1/chat'], requireScope('sessions'));
  app.get('/v1/tools', requireScope('runs:read'));
  const log = options.log ?? (options.logger ? errorLog(options.logger) : (message: string, error?: unknown) => console.error(message, error));
  const admission = new RunAdmission(options.client, options.limits.maxRunningRunsPerTenant, log);
  // One count of open streams per tenant for every door (MAX_STREAMS_PER_TENANT).
  const gauge = options.metrics?.metrics.streams;
  const streamSlots = new StreamSlots(options.limits.maxStreamsPerTenant, gauge ? (kind, change) => gauge.inc({ kind }, change) : undefined);
  app.use('/v1', runsRouter({ ...options, streamSlots, streamTokens, open: access.open, admission }));
  if (options.tools) app.use('/v1', toolsRouter({ tools: options.tools, stats: new ToolStats(options.client, { taskQueue: options.taskQueue, refreshMs: 2000, log }) }));
  app.use('/v1', sessionsRouter({ ...options, streamTokens, open: access.open, admission, sessions: new SessionStore(options.client, options.taskQueue) }));
  // The AI SDK's useChat protocol over sessions (chat-router.ts).
  app.use('/v1', chatRouter({ ...options, streamSlots, open: access.open, admission, log, sessions: new SessionStore(options.client, options.taskQueue) }));
  // MCP over Streamable HTTP (src/api/mcp/): the same keys; each tool checks its scope. Parsed first: which calls are writes is in the body.
  const reader = options.reader ?? new RunReader(options.client);
  app.use('/mcp', authenticated, express.json({ limit: '2mb' }), writes);
  app.use(
    mcpRouter({
      ...options,
      admission,
      reader,
      sources: new SharedRunSources(options.store, reader, options.relay),
      costs: new RunCosts(options.prices ?? new Map()),
      streamOptions: { ...options.stream, costs: new RunCosts(options.prices ?? new Map()) },
      streamTokens,
      open: access.open,
      links: (runId) => ({ self: `/v1/runs/${runId}`, events: `/v1/runs/${runId}/events` }),
      progressIntervalMs: options.mcp?.progressIntervalMs ?? 100,
      keepAliveMs: options.mcp?.keepAliveMs ?? 15_000,
      streamSlots,
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  return app;
}
