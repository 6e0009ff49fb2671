import './workflow-clock';
import { context, ROOT_CONTEXT, trace, ProxyTracerProvider } from '@opentelemetry/api';
import { proxySinks } from '@temporalio/workflow';
import { OpenTelemetryInboundInterceptor } from '@temporalio/interceptors-opentelemetry/lib/workflow';

// Runs once per workflow thread, before its first workflow (the bundle's preloadModules; the
// worker's V8 context is reused across workflows). Temporal's workflow interceptors build their
// tracer on first use and keep it in their module: left to each workflow, every traced run starts
// OpenTelemetry's SDK (a tracer provider, its configuration read from the environment, a span
// processor) in its first workflow task, ahead of its first token: about 4 ms on this machine
// (docs/benchmarks.md, Observability overhead). Loaded here, the module and its tracer are shared.
//
// Why sharing is safe: the tracer holds no run's state. Spans carry their own context; the
// context manager keeps each run's active span in an AsyncLocalStorage, which follows each run's
// own promises; span and trace ids come from the workflow's random stream (workflow-spans.ts);
// spans leave through sinks, which resolve the running workflow when called. What is loaded here
// the SDK freezes once loading ends (deepFreeze), so no run can change it for another.

// Building one interceptor builds the tracer and registers it, its context manager and the W3C
// propagator as OpenTelemetry's globals: globals set now are part of every workflow's globals.
new OpenTelemetryInboundInterceptor();

// Two things are set on first use, which frozen they could not be: do both now.
// The context manager's storage turns itself on when first used.
context.with(ROOT_CONTEXT, () => undefined);
// The span exporter looks up the workflow's sinks on its first span. The path to it is the
// OpenTelemetry SDK's (1.x) own fields: if an upgrade moves them, the worker says so here, at start.
const exporters = spanExporters();
if (exporters.length !== 1) {
  throw new Error(`workflow-spans-preload: expected the one span exporter of Temporal's workflow interceptors, found ${exporters.length}; OpenTelemetry's SDK has changed its fields`);
}
exporters[0]!.exporter = proxySinks().exporter;

function spanExporters(): Array<{ exporter?: unknown }> {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  const active = (delegate as { activeSpanProcessor?: { _spanProcessors?: unknown } }).activeSpanProcessor;
  const processors = Array.isArray(active?._spanProcessors) ? (active._spanProcessors as Array<{ _exporter?: object }>) : [];
  return processors.flatMap((processor) => (processor._exporter && Object.hasOwn(processor._exporter, 'exporter') ? [processor._exporter as { exporter?: unknown }] : []));
}
