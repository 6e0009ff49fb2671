import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { CodecSettings } from './codec';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { defaultTools, type ToolSettings } from './activities/tools';
import { ToolRegistry } from './activities/tools/registry';
import { createApp } from './api/app';
import type { Logger } from './telemetry/logger';
import type { Metrics } from './telemetry/metrics';
import type { Tracing } from './telemetry/tracing';
import { answerClientErrors } from './api/client-errors';
import type { Access } from './api/auth/access';
import type { StreamTokens } from './api/auth/stream-tokens';
import { RunStore } from './api/run-store';
import type { RunStreamOptions } from './api/run-stream';
import type { SseOptions } from './api/sse';
import type { Config } from './config';
import { MemoryRelay } from './relay/memory-relay';
import type { PacedWorkflowTaskSlots } from './temporal/workflow-task-slots';
import { createAgentWorker } from './worker';

// The worker and the API in one process, sharing the in-memory relay: what `npm start` runs, and
// what the integration tests start against a real Temporal.

export interface StackOptions {
  client: Client;
  /** Structured logs (access lines, errors). */
  logger?: Logger;
  /** Where people reach the API (PUBLIC_URL), for the links the Web UI shows; default: where it listens. */
  publicUrl?: string;
  /** A client on the worker's NativeConnection: runs then start eagerly on this process's worker. */
  eagerClient?: Client;
  nativeConnection: NativeConnection;
  namespace: string;
  taskQueue: string;
  model: Config['model'];
  /** history: when runs continue as new (default: defaultHistoryLimits). */
  limits: Omit<Config['limits'], 'history'> & Partial<Pick<Config['limits'], 'history'>>;
  /** The tools offered (default: the built-in and custom ones, with these settings). */
  tools?: ToolRegistry;
  toolSettings: ToolSettings & { resultMaxBytes?: number; outputMaxBytes?: number };
  /** Tool calls of one step that run at once (default 8). */
  toolConcurrency?: number;
  session?: Config['session'];
  temporalUiUrl: string;
  host?: string;
  port?: number;
  stream?: RunStreamOptions & SseOptions;
  /** Who may call the API (default: open, loopback Host headers only). */
  access?: Access;
  corsOrigins?: string[];
  streamTokens?: StreamTokens;
  /** Replaces activities by name (benchmarks use it to run peer implementations). */
  activityOverrides?: (relay: MemoryRelay) => Record<string, (...args: any[]) => Promise<unknown>>;
  log?: (message: string, error?: unknown) => void;
  /** Payload encryption for the worker (src/codec); the clients passed in carry the same. */
  dataConverter?: DataConverter;
  /** The API's codec endpoint for the Temporal Web UI. */
  codec?: CodecSettings;
  /** How often running activities heartbeat (default 1 s). */
  heartbeatIntervalMs?: number;
  /** WORKER_MAX_ACTIVITIES (default: the SDK's 100). */
  maxConcurrentActivities?: number;
  /** WORKER_MAX_WORKFLOW_TASKS (default 8, src/temporal/workflow-task-slots.ts). */
  maxWorkflowTasks?: number | PacedWorkflowTaskSlots;
  /** WORKFLOW_STACK_TRACES=on (default off, src/workflows/stack-traces-off.ts). */
  workflowStackTraces?: boolean;
  /** Prometheus metrics of the worker and the API, at GET /metrics (with the SDK's from temporalMetricsUrl). */
  metrics?: Metrics;
  temporalMetricsUrl?: string;
  /** OpenTelemetry traces of the API's requests and the worker's runs (src/telemetry/tracing.ts). */
  tracing?: Tracing;
}

export interface Stack {
  url: string;
  relay: MemoryRelay;
  worker: Worker;
  server: Server;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const relay = new MemoryRelay();
  const tools = options.tools ?? new ToolRegistry(defaultTools(options.toolSettings), { concurrency: options.toolSettings.concurrency });
  const worker = await createAgentWorker({
    connection: options.nativeConnection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    relay,
    model: options.model,
    tools,
    toolResultMaxBytes: options.toolSettings.resultMaxBytes,
    toolOutputMaxBytes: options.toolSettings.outputMaxBytes,
    activityOverrides: options.activityOverrides?.(relay),
    dataConverter: options.dataConverter,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    maxConcurrentActivities: options.maxConcurrentActivities,
    maxWorkflowTasks: options.maxWorkflowTasks,
    workflowStackTraces: options.workflowStackTraces,
    metrics: options.metrics,
    tracing: options.tracing?.worker,
  });
  const running = worker.run();
  let listeningUrl: string | undefined;
  const app = createApp({
    client: options.client,
    tools,
    store: new RunStore(options.eagerClient ?? options.client, options.taskQueue, options.eagerClient !== undefined, () => options.publicUrl ?? listeningUrl),
    relay,
    defaultModel: options.model.name,
    models: {
      fallbacks: options.model.fallbacks ?? [],
      fallbackAttempts: options.model.fallbackAttempts ?? 3,
      defaultProvider: options.model.provider,
      anthropicConfigured: Boolean(options.model.anthropic?.apiKey || options.model.anthropic?.baseURL),
    },
    contextTokens: options.model.contextTokens,
    prices: options.model.prices,
    toolNames: tools.names,
    toolPolicies: (names) => tools.policies(names),
    toolConcurrency: options.toolConcurrency ?? 8,
    taskQueue: options.taskQueue,
    session: options.session ?? { contextChars: 200_000, historyLimit: 2000 },
    limits: options.limits,
    temporalUi: { url: options.temporalUiUrl, namespace: options.namespace },
    stream: options.stream,
    log: options.log,
    ...(options.logger ? { logger: options.logger } : {}),
    access: options.access,
    corsOrigins: options.corsOrigins,
    streamTokens: options.streamTokens,
    codec: options.codec,
    ...(options.metrics ? { metrics: { metrics: options.metrics, temporalMetricsUrl: options.temporalMetricsUrl } } : {}),
    tracing: options.tracing,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, options.host ?? '127.0.0.1', (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  answerClientErrors(server);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  listeningUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  return {
    url: listeningUrl,
    relay,
    worker,
    server,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
