import { hostname } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type BundleOptions, type WorkflowBundle } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { createActivities, type ActivityDependencies } from './activities';
import { failureConverterPath, temporalDataConverter } from './codec';
import { ConfigError, loadConfig, requireSplitSettings } from './config';
import { MemoryRelay } from './relay/memory-relay';
import { activityLogContext } from './telemetry/activity-log-context';
import { combineTelemetry } from './telemetry/activity-telemetry';
import { metricsTelemetry, processMetrics, runMetricsSinks, type Metrics } from './telemetry/metrics';
import { startMetricsServer } from './telemetry/metrics-server';
import { installTemporalRuntime } from './telemetry/temporal-runtime';
import { startTracing, type WorkerTracing } from './telemetry/tracing';
import { createLogger, infoLog } from './telemetry/logger';
import { temporalLogger } from './telemetry/temporal-logger';
import { startRelayServer } from './relay/relay-server';
import { nativeConnectionOptions } from './temporal/connect';
import { ensureSearchAttributes, SearchAttributesError } from './temporal/search-attributes';
import { PacedWorkflowTaskSlots, defaultMaxWorkflowTasks } from './temporal/workflow-task-slots';
import { setUpTools } from './tool-setup';

// The worker runs agent-turn workflows and their activities, and hosts the live streams of the
// activities it runs. `npm start` runs it in the API's process; `npm run worker` alone, with a
// stream endpoint that APIs reach at the address in its identity and its heartbeats.

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
const stackTracesOffPath = fileURLToPath(new URL('./workflows/stack-traces-off.ts', import.meta.url));

const bundles = new Map<string, Promise<WorkflowBundle>>();
/**
 * Bundles the workflow code once per process (webpack takes seconds). With payload encryption,
 * the bundle carries the failure converter that moves failure messages into encrypted attributes
 * (src/codec/failure-converter.ts); either bundle replays the other's histories. With tracing, it
 * carries OpenTelemetry's workflow interceptors (src/telemetry/workflow-spans.ts); so does either.
 * Without stackTraces (WORKFLOW_STACK_TRACES, default off), workflows record no stack traces of
 * their promises (src/workflows/stack-traces-off.ts); either bundle replays the other's histories.
 */
export function workflowBundle(options: { encryptFailures?: boolean; workflowInterceptorModules?: string[]; preloadModules?: string[]; stackTraces?: boolean } = {}): Promise<WorkflowBundle> {
  const encrypt = options.encryptFailures ?? false;
  const interceptorModules = options.workflowInterceptorModules ?? [];
  const preloadModules = [...(options.stackTraces ? [] : [stackTracesOffPath]), ...(options.preloadModules ?? [])];
  const key = JSON.stringify([encrypt, interceptorModules, preloadModules]);
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath,
      logger: quietBundlerLogger,
      ...(encrypt ? { failureConverterPath } : {}),
      ...(interceptorModules.length > 0 ? { workflowInterceptorModules: interceptorModules, webpackConfigHook: withoutUnusedModules } : {}),
      // Loaded once per workflow thread, before its first workflow (src/workflows/stack-traces-off.ts,
      // src/telemetry/workflow-spans-preload.ts).
      ...(preloadModules.length > 0 ? { preloadModules } : {}),
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

/**
 * Every workflow initializes every module of its bundle afresh (module state is per workflow).
 * OpenTelemetry's packages declare themselves free of side effects, and most of what they export
 * (semantic-convention tables, resource detectors) the interceptors never use: without it in the
 * bundle, a traced run's first workflow task is about 7 ms shorter (docs/benchmarks.md, Observability overhead).
 */
const withoutUnusedModules: NonNullable<BundleOptions['webpackConfigHook']> = (config) => ({
  ...config,
  optimization: { ...config.optimization, sideEffects: true, usedExports: true, providedExports: true, innerGraph: true, concatenateModules: true },
});

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface AgentWorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activityOverrides?: Record<string, (...args: any[]) => Promise<unknown>>;
  /** Payload encryption (src/codec): the same for every client and worker of a deployment. */
  dataConverter?: DataConverter;
  /** Model steps and tool calls run at once (WORKER_MAX_ACTIVITIES); more wait in the task queue. */
  maxConcurrentActivities?: number;
  /** Workflow tasks this worker takes from its pollers at once (WORKER_MAX_WORKFLOW_TASKS), or the slots themselves. */
  maxWorkflowTasks?: number | PacedWorkflowTaskSlots;
  /** Prometheus metrics of runs, model steps and tool calls (METRICS, default on). */
  metrics?: Metrics;
  /** OpenTelemetry traces (src/telemetry/tracing.ts); unset: no tracing interceptors, the plain bundle. */
  tracing?: WorkerTracing;
  /** WORKFLOW_STACK_TRACES=on: Temporal's stack trace of every workflow promise, for the Stack Trace query (default off: src/workflows/stack-traces-off.ts). */
  workflowStackTraces?: boolean;
}

/** Identity in Temporal (shown in the Web UI); carries the stream endpoint for APIs to find. */
export const workerIdentity = (relayAddress: string) => `${process.pid}@${hostname()} relay=${relayAddress}`;

export async function createAgentWorker(options: AgentWorkerOptions): Promise<Worker> {
  const workflowSlots =
    options.maxWorkflowTasks instanceof PacedWorkflowTaskSlots ? options.maxWorkflowTasks : new PacedWorkflowTaskSlots(options.maxWorkflowTasks ?? defaultMaxWorkflowTasks);
  return Worker.create({
    // Activity log lines name the step and the tool call they are about.
    interceptors: { activity: [activityLogContext, ...(options.tracing?.activityInterceptors ?? [])] },
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    identity: workerIdentity(options.relay.address),
    workflowBundle: await workflowBundle({ encryptFailures: options.dataConverter?.failureConverterPath !== undefined, workflowInterceptorModules: options.tracing?.workflowInterceptorModules, preloadModules: options.tracing?.workflowPreloadModules, stackTraces: options.workflowStackTraces }),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    // Runs say when they start and end (src/workflows/run-metrics.ts); traced runs export their workflow spans.
    sinks: { ...runMetricsSinks(options.metrics), ...(options.tracing ? options.tracing.sinks() : {}) },
    activities: {
      ...createActivities({
        ...options,
        telemetry: combineTelemetry(options.metrics ? metricsTelemetry(options.metrics) : undefined, options.telemetry, options.tracing?.telemetry),
        client: options.client ?? new Client({ connection: options.connection, namespace: options.namespace, dataConverter: options.dataConverter }),
      }),
      ...options.activityOverrides,
    },
    // Cancellation reaches an activity with a heartbeat's answer. Activities heartbeat once a
    // second, and every 20 ms once the API has said their run was cancelled (heartbeat.ts): the
    // SDK lets heartbeats through that often, so Temporal's cancellation follows within ~20 ms.
    maxHeartbeatThrottleInterval: '20 milliseconds',
    defaultHeartbeatThrottleInterval: '20 milliseconds',
    shutdownGraceTime: '5 seconds',
    // Past this many, steps wait in Temporal's task queue (their runs read as queued) rather than
    // slowing the token streams of the steps already running on this worker.
    // Workflow tasks are paced (src/temporal/workflow-task-slots.ts): a burst of new runs queues
    // in Temporal instead of holding the event loop that writes the running steps' tokens, and an
    // idle worker still takes a new run's first task eagerly.
    tuner: {
      workflowTaskSlotSupplier: workflowSlots,
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: options.maxConcurrentActivities ?? 100 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
    },
  });
}

async function main() {
  const config = loadConfig();
  const { address, secret } = requireSplitSettings(config, 'worker');
  const logger = createLogger(config.log);
  const metrics = config.telemetry.metrics ? processMetrics() : undefined;
  const runtime = await installTemporalRuntime({ logger: temporalLogger(logger, config.log.level), metrics: metrics !== undefined });
  // Its own /metrics (METRICS_HOST, METRICS_PORT): Prometheus scrapes each worker.
  const metricsServer = metrics
    ? await startMetricsServer({ metrics, temporalMetricsUrl: runtime.metricsUrl, host: config.telemetry.metricsHost, port: config.telemetry.metricsPort, token: config.telemetry.metricsToken })
    : undefined;
  const tracing = await startTracing(config.telemetry, 'durable-agents-worker', (message) => logger.warn(message));
  const tools = await setUpTools(config, infoLog(logger));
  const relay = new MemoryRelay();
  const server = await startRelayServer({ relay, secret, host: config.relay.host, port: config.relay.port, advertiseUrl: config.relay.advertiseUrl, tls: config.relay.serverTls });
  const connection = await NativeConnection.connect(nativeConnectionOptions(address, config.temporal.security));
  await ensureSearchAttributes(connection, config.temporal.namespace);
  const worker = await createAgentWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    relay,
    model: config.model,
    tools: tools.registry,
    toolResultMaxBytes: config.tools.resultMaxBytes,
    toolOutputMaxBytes: config.tools.outputMaxBytes,
    dataConverter: temporalDataConverter(config.payloadKeys),
    maxConcurrentActivities: config.worker.maxActivities,
    maxWorkflowTasks: config.worker.maxWorkflowTasks,
    workflowStackTraces: config.worker.stackTraces,
    metrics,
    tracing: tracing?.worker,
  });
  if (metricsServer) console.log(`worker metrics at ${metricsServer.url}`);
  console.log(`worker polling task queue "${config.temporal.taskQueue}" on ${address}; live streams at ${server.url}`);
  await worker.run();
  await metricsServer?.close();
  await server.close();
  await connection.close();
  await tools.close();
  await tracing?.shutdown();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error instanceof ConfigError || error instanceof SearchAttributesError ? error.message : error);
    process.exit(1);
  });
}
