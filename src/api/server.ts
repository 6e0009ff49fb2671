// `npm run api`: the API alone, against TEMPORAL_ADDRESS; live events come from the workers'
// stream endpoints (src/relay/remote-relay.ts). Run as many as you like.
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ensureConsoleBuilt } from './console-assets';
import { createLogger, errorLog, type Logger } from '../telemetry/logger';
import { startTracing, type Tracing } from '../telemetry/tracing';
import type { ToolRegistry } from '../activities/tools/registry';
import { ConfigError, loadConfig, requireSplitSettings, type Config } from '../config';
import { codecSettings, temporalDataConverter } from '../codec';
import { RemoteRelay } from '../relay/remote-relay';
import { clientConnectionOptions } from '../temporal/connect';
import { ensureSearchAttributes, SearchAttributesError } from '../temporal/search-attributes';
import { setUpTools } from '../tool-setup';
import { createApp } from './app';
import { answerClientErrors } from './client-errors';
import { accessFromConfig, type Access } from './auth/access';
import { StreamTokens } from './auth/stream-tokens';
import { RunStore } from './run-store';
import { processMetrics } from '../telemetry/metrics';

/** The API of a split deployment: live events come from the workers' stream endpoints. */
export function createSplitApi(options: { config: Config; client: Client; secret: string; tools: ToolRegistry; log: (line: string) => void; access?: Access; logger?: Logger; tracing?: Tracing }) {
  const { config, client, tools } = options;
  // METRICS (default on): GET /metrics (this API's requests, streams and worker-stream reads).
  const metrics = config.telemetry.metrics ? processMetrics() : undefined;
  const relay = new RemoteRelay({ client, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, secret: options.secret, allowedHosts: config.relay.allowedHosts, tls: config.relay.clientTls, log: options.log, ...(metrics ? { metrics } : {}) });
  const app = createApp({
    client,
    tools,
    store: new RunStore(client, config.temporal.taskQueue, false, () => config.publicUrl ?? `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${config.port}`),
    relay,
    defaultModel: config.model.name,
    // A split API holds no model keys: whether a provider is set up is the workers' to say.
    models: { fallbacks: config.model.fallbacks, fallbackAttempts: config.model.fallbackAttempts, defaultProvider: config.model.provider },
    contextTokens: config.model.contextTokens,
    prices: config.model.prices,
    toolNames: tools.names,
    toolPolicies: (names) => tools.policies(names),
    toolConcurrency: config.toolConcurrency,
    taskQueue: config.temporal.taskQueue,
    session: config.session,
    limits: config.limits,
    temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
    access: options.access ?? accessFromConfig(config),
    corsOrigins: config.auth.corsOrigins,
    streamTokens: new StreamTokens(config.auth.streamTokenSecret, config.auth.streamTokenTtlSeconds),
    codec: codecSettings(config, config.temporal.uiUrl),
    ...(options.logger ? { logger: options.logger, log: errorLog(options.logger) } : {}),
    ...(metrics ? { metrics: { metrics } } : {}),
    tracing: options.tracing,
  });
  return { app, relay };
}

async function main() {
  const config = loadConfig();
  const { address, secret } = requireSplitSettings(config, 'api');
  const logger = createLogger(config.log);
  const tracing = await startTracing(config.telemetry, 'durable-agents-api', (message) => logger.warn(message));
  const log = (line: string) => console.log(line);
  const access = accessFromConfig(config);
  log(access.notice);
  const tools = await setUpTools(config, log);
  const connection = await Connection.connect(clientConnectionOptions(address, config.temporal.security));
  await ensureSearchAttributes(connection, config.temporal.namespace);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: temporalDataConverter(config.payloadKeys), ...(tracing ? { interceptors: tracing.clientInterceptors } : {}) });
  const built = await ensureConsoleBuilt(log).catch((error: unknown) => ({ state: 'missing' as const, reason: `the build failed: ${(error as Error).message}` }));
  if (built.state === 'missing' || built.state === 'stale') log(`Console not built: ${built.reason}`);
  const { app } = createSplitApi({ config, client, secret, tools: tools.registry, log, access, logger, tracing });
  const server = app.listen(config.port, config.host, () => {
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : config.port;
    log(`API: http://${config.host}:${port} (Temporal ${address}, task queue "${config.temporal.taskQueue}"); console at /`);
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => {
      void tools.close();
      void connection.close();
      // The spans still buffered go out first.
      void (tracing?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  };
  answerClientErrors(server);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error instanceof ConfigError || error instanceof SearchAttributesError ? error.message : error);
    process.exit(1);
  });
}
