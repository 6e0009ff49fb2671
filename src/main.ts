import { mkdirSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, ConfigError, type Config } from './config';
import { demoResponder } from './demo-model/demo-script';
import { startModelServer, type ModelServer } from './demo-model/server';
import { accessFromConfig } from './api/auth/access';
import { createLogger, errorLog } from './telemetry/logger';
import { temporalLogger } from './telemetry/temporal-logger';
import { processMetrics } from './telemetry/metrics';
import { installTemporalRuntime } from './telemetry/temporal-runtime';
import { startTracing } from './telemetry/tracing';
import { ensureConsoleBuilt } from './api/console-assets';
import { StreamTokens } from './api/auth/stream-tokens';
import { startStack, type Stack } from './stack';
import { codecSettings, temporalDataConverter } from './codec';
import { setUpTools } from './tool-setup';
import { findTemporalCli, TemporalCliNotFoundError } from './temporal/cli';
import { clientConnectionOptions, nativeConnectionOptions } from './temporal/connect';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { ensureSearchAttributes, SearchAttributesError } from './temporal/search-attributes';

// `npm start`: the embedded Temporal (unless TEMPORAL_ADDRESS), the demo model (unless a real
// endpoint is configured), and the worker and the API in this process.

const log = (line: string) => console.log(line);

/** A base URL may carry credentials (user:password@host); they are never printed. */
function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.username) url.username = '***';
  if (url.password) url.password = '***';
  return url.toString();
}

/** How a browser on this machine reaches the API (a wildcard address is reached on loopback). */
function browserUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** The web console's build when its sources changed (after a pull); the API goes on without it. */
async function buildConsole() {
  try {
    const result = await ensureConsoleBuilt(log);
    if (result.state === 'missing' || result.state === 'stale') log(`Console not built: ${result.reason}`);
  } catch (error) {
    console.error(`Console: the build failed, / says so (the API works): ${(error as Error).message}`);
  }
}

const cleanups: Array<() => Promise<void>> = [];
let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  if (cleanups.length > 0) log('stopping...');
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error) => console.error(`while stopping: ${(error as Error).message}`));
  }
  process.exit(code);
}

async function main() {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  const config = loadConfig();
  // Before anything starts: a setting that would expose every run stops here.
  const access = accessFromConfig(config);
  // Structured logs (LOG_LEVEL, LOG_FORMAT); the URLs below stay plain lines for people.
  const logger = createLogger(config.log);
  // METRICS (default on): GET /metrics says this process's figures and the Temporal SDK's.
  const metrics = config.telemetry.metrics ? processMetrics() : undefined;
  const runtime = await installTemporalRuntime({ logger: temporalLogger(logger, config.log.level), metrics: metrics !== undefined });
  // OTEL_EXPORTER_OTLP_ENDPOINT: traces; stopped last, so that the spans of the way out are sent.
  const tracing = await startTracing(config.telemetry, 'durable-agents', (message) => logger.warn(message));
  if (tracing) cleanups.push(() => tracing.shutdown());

  let devServer: DevServer | undefined;
  let address = config.temporal.address;
  let uiUrl = config.temporal.uiUrl;
  if (!address) {
    const cli = await findTemporalCli({ log });
    devServer = await startDevServer({
      cli,
      dataDir: config.dataDir,
      port: config.temporal.port,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      log,
      // With PAYLOAD_KEYS, the embedded UI decodes payloads through this API's codec endpoint.
      ...(config.payloadKeys ? { codecEndpoint: `${browserUrl(config.host, config.port)}/codec` } : {}),
    });
    cleanups.push(() => devServer!.stop());
    address = devServer.address;
    uiUrl = devServer.uiUrl;
    log(`Temporal dev server: ${address} (data: ${config.dataDir}/temporal.db; ${cli.kind === 'path' ? cli.path : 'SDK download'})`);
  }

  mkdirSync(config.tools.workspaceDir, { recursive: true });
  let model: Config['model'] = config.model;
  let demo: ModelServer | undefined;
  if (config.model.useDemo) {
    demo = await startModelServer(demoResponder(config.demoModel), config.demoModel.port);
    cleanups.push(() => demo!.close());
    model = { ...config.model, baseURL: demo.baseURL };
    log(`No OPENAI_BASE_URL or OPENAI_API_KEY set: using the built-in demo model at ${demo.baseURL}`);
  } else {
    const anthropic = config.model.provider === 'anthropic';
    const endpoint = anthropic ? (config.model.anthropic.baseURL ?? 'https://api.anthropic.com') : (config.model.baseURL ?? 'https://api.openai.com/v1');
    log(`Model: ${config.model.name} at ${anthropic ? 'Anthropic, ' : ''}${redactUrl(endpoint)}`);
  }
  // Model references never carry credentials (src/shared/model-ref.ts refuses them).
  if (config.model.fallbacks.length > 0) log(`Model fallbacks, each after ${config.model.fallbackAttempts} attempts of the one before: ${config.model.fallbacks.join(', ')}`);

  const tools = await setUpTools(config, log);
  cleanups.push(() => tools.close());
  // The embedded server is plain, on loopback: the profile's TLS and API key are for TEMPORAL_ADDRESS.
  const security = devServer ? {} : config.temporal.security;
  const connection = await Connection.connect(clientConnectionOptions(address, security));
  const nativeConnection = await NativeConnection.connect(nativeConnectionOptions(address, security));
  cleanups.push(async () => {
    await connection.close();
    await nativeConnection.close();
  });
  // The embedded server has them from its command line; a cluster may not yet.
  await ensureSearchAttributes(connection, config.temporal.namespace);
  // With PAYLOAD_KEYS, every client and the worker encrypt what Temporal stores.
  const dataConverter = temporalDataConverter(config.payloadKeys);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter, ...(tracing ? { interceptors: tracing.clientInterceptors } : {}) });
  // On the worker's connection, run starts hand their first workflow task straight to this
  // process's worker (eager start), one round trip less before the first token.
  const eagerClient = new Client({ connection: nativeConnection, namespace: config.temporal.namespace, dataConverter, ...(tracing ? { interceptors: tracing.clientInterceptors } : {}) });
  await buildConsole();
  const stack: Stack = await startStack({
    client,
    logger,
    log: errorLog(logger),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    eagerClient,
    nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    model,
    limits: config.limits,
    toolConcurrency: config.toolConcurrency,
    maxConcurrentActivities: config.worker.maxActivities,
    maxWorkflowTasks: config.worker.maxWorkflowTasks,
    workflowStackTraces: config.worker.stackTraces,
    session: config.session,
    toolSettings: config.tools,
    tools: tools.registry,
    temporalUiUrl: uiUrl,
    host: config.host,
    port: config.port,
    access,
    corsOrigins: config.auth.corsOrigins,
    streamTokens: new StreamTokens(config.auth.streamTokenSecret, config.auth.streamTokenTtlSeconds),
    dataConverter,
    codec: codecSettings(config, uiUrl),
    metrics,
    temporalMetricsUrl: runtime.metricsUrl,
    tracing,
  });
  cleanups.push(() => stack.stop());

  const api = stack.url;
  log('');
  log(`API:         ${api}`);
  log(`Console:     ${api}/`);
  log(access.notice);
  log(`Temporal UI: ${uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
  if (config.payloadKeys) {
    log(`Payloads:    encrypted at rest (key "${config.payloadKeys.current.id}"); decoded for the UI by ${api}/codec${devServer ? '' : ' (point your UI at it)'}`);
  }
  log('');
  const keyHeader = access.open ? '' : ` -H "authorization: Bearer $API_KEY"`;
  log(`Try it (starts a run, then streams it${access.open ? '' : '; API_KEY is one of your keys'}):`);
  log(
    `  curl -s ${api}/v1/runs${keyHeader} -H 'content-type: application/json' -d '{"input":"What is 12*7, wait 3 seconds and tell me the time in Asia/Tokyo"}' ` +
      `| node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).runId))' ` +
      `| xargs -I{} curl -sN${keyHeader} ${api}/v1/runs/{}/events`,
  );
  log('');
  log('Ctrl-C stops everything.');
}

main().catch((error) => {
  if (error instanceof ConfigError || error instanceof TemporalCliNotFoundError || error instanceof SearchAttributesError) console.error(error.message);
  else console.error(error);
  void stop(1);
});
