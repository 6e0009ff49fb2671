import { fileURLToPath } from 'node:url';
import type { RequestHandler } from 'express';
import type { Tracer } from '@opentelemetry/api';
import type { ClientInterceptors, WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { ActivityTelemetry } from './activity-telemetry';

// OpenTelemetry traces over OTLP/HTTP, when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set: one trace
// per run, from the API's request through the workflow to each model step and tool call. Temporal's
// own interceptors carry the trace across processes in Temporal headers (the API's client starts
// the workflow in the request's trace; the workflow's activities inherit the workflow's);
// gen-ai-spans.ts adds the model and tool spans, http-spans.ts the request spans. Unset: nothing
// here is loaded, no interceptor is installed and nothing is sent.

export interface TracingSettings {
  tracesEndpoint?: string;
  serviceName?: string;
}

/** Where OpenTelemetry's own warnings go (a collector that refuses or cannot be reached). */
export type TracingWarn = (message: string) => void;

/** What a worker adds when it traces (src/worker.ts). */
export interface WorkerTracing {
  /** Bundled with the workflow code: spans of the workflow and of the activities it schedules (workflow-spans.ts). */
  workflowInterceptorModules: string[];
  /** Loaded once per workflow thread, before any workflow: the tracer those interceptors share (workflow-spans-preload.ts). */
  workflowPreloadModules: string[];
  /** The activity's span, a child of the span that scheduled it (carried in its headers). */
  activityInterceptors: ActivityInterceptorsFactory[];
  /** The workflow's spans leave the sandbox through this sink (merge it into the worker's sinks). */
  sinks(): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
  /** Model-call and tool-call spans (GenAI semantic conventions). */
  telemetry: ActivityTelemetry;
}

export interface Tracing {
  tracer: Tracer;
  /** For the API's Temporal clients: a workflow start (signal, update, cancel) joins the caller's trace; reads make no spans. */
  clientInterceptors: ClientInterceptors;
  /** A SERVER span per API request, continuing an incoming W3C traceparent. */
  middleware: RequestHandler;
  worker: WorkerTracing;
  /** Sends what is buffered and stops (on the process's way out). */
  shutdown(): Promise<void>;
}

/**
 * The workflow info the exporter sink writes onto each workflow span: only what names the
 * execution. (Temporal's sink would copy all of it: the memo holds the run's task.)
 */
function namingInfo(info: WorkflowInfo): WorkflowInfo {
  const { workflowId, runId, workflowType, taskQueue, namespace, attempt } = info;
  return { workflowId, runId, workflowType, taskQueue, namespace, attempt } as WorkflowInfo;
}

/**
 * Temporal's client interceptor for what changes a run (its start, signals, updates, cancelling
 * and terminating), not for reads of it: every stream, poll and list describes or queries runs,
 * and a span for each would be noise in the run's trace and time on every reader's way (the
 * describe before a stream's first event, for one). The calls are Temporal's, untouched.
 */
function changesOnly(interceptor: WorkflowClientInterceptor): WorkflowClientInterceptor {
  const { start, startWithDetails, startUpdate, startUpdateWithStart, signal, signalWithStart, terminate, cancel } = interceptor;
  const bound = <T extends ((...args: never[]) => unknown) | undefined>(method: T): T => method?.bind(interceptor) as T;
  return {
    start: bound(start),
    startWithDetails: bound(startWithDetails),
    startUpdate: bound(startUpdate),
    startUpdateWithStart: bound(startUpdateWithStart),
    signal: bound(signal),
    signalWithStart: bound(signalWithStart),
    terminate: bound(terminate),
    cancel: bound(cancel),
  };
}

/** Starts tracing when an endpoint is configured (undefined, and nothing loaded, when not). */
export async function startTracing(settings: TracingSettings, defaultServiceName: string, warn?: TracingWarn): Promise<Tracing | undefined> {
  if (!settings.tracesEndpoint) return undefined;
  if (warn) {
    // Exports that fail say so in the process's logs (once per failure, at warn), not silently.
    const { diag, DiagLogLevel } = await import('@opentelemetry/api');
    const say = (message: string, ...args: unknown[]) => warn(`OpenTelemetry: ${[message, ...args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : JSON.stringify(arg)))].join(' ')}`);
    const quiet = () => undefined;
    diag.setLogger({ error: say, warn: say, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  }
  const [{ W3CTraceContextPropagator }, { NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { Resource }, { ATTR_SERVICE_NAME }, temporal, { httpSpans }, { genAiSpans }] =
    await Promise.all([
      import('@opentelemetry/core'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
      import('@temporalio/interceptors-opentelemetry'),
      import('./http-spans'),
      import('./gen-ai-spans'),
    ]);
  const resource = Resource.default().merge(new Resource({ [ATTR_SERVICE_NAME]: settings.serviceName ?? defaultServiceName }));
  // Batched (OTEL_BSP_* tune it); the exporter reads OTEL_EXPORTER_OTLP_HEADERS for a collector's key.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesEndpoint }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // W3C trace context only: a caller's baggage is not carried into Temporal's headers.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const tracer = provider.getTracer('durable-agents');
  const exporter = temporal.makeWorkflowExporter(processor, resource);
  return {
    tracer,
    clientInterceptors: { workflow: [changesOnly(new temporal.OpenTelemetryWorkflowClientInterceptor({ tracer }))] },
    middleware: httpSpans(tracer),
    worker: {
      workflowInterceptorModules: [fileURLToPath(new URL('./workflow-spans.ts', import.meta.url))],
      workflowPreloadModules: [fileURLToPath(new URL('./workflow-spans-preload.ts', import.meta.url))],
      activityInterceptors: [
        (context) => ({
          inbound: new temporal.OpenTelemetryActivityInboundInterceptor(context, { tracer }),
          // Log lines of an activity carry its trace_id and span_id.
          outbound: new temporal.OpenTelemetryActivityOutboundInterceptor(context),
        }),
      ],
      sinks: () => ({ exporter: { export: { fn: (info, spans) => exporter.export.fn(namingInfo(info), spans) } } }),
      telemetry: genAiSpans(tracer),
    },
    shutdown: () => provider.shutdown(),
  };
}
