import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InjectedSinks } from '@temporalio/worker';
import type { RunEnd, RunMetricsSinks } from '../workflows/run-metrics';
import type { ActivityTelemetry, ModelCallInfo, ToolCallInfo } from './activity-telemetry';

// Prometheus metrics (prom-client), served at /metrics by the API and by each worker (METRICS=off:
// none). One registry per process: `npm start` runs the worker and the API in one, and its /metrics
// says both; the Temporal SDK's own worker metrics are appended (temporal-metrics.ts). Names follow
// Prometheus' conventions: a `durable_agents_` prefix, base units (seconds, bytes), `_total` on
// counters. Label values that come from clients (model names) are bounded per process: past
// `maxLabelValues` distinct ones, the rest count as "other", so no request can grow the series
// without end. docs/observability.md lists every metric; docs/grafana/ has a dashboard.

export const metricsPrefix = 'durable_agents_';
const name = (suffix: string) => `${metricsPrefix}${suffix}`;

/** Distinct values one label may take in this process before the rest count as "other". */
export const maxLabelValues = 50;

class BoundedValues {
  private readonly seen = new Set<string>();
  constructor(private readonly max = maxLabelValues) {}
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

const secondsBuckets = {
  /** Time to first token, model steps, tool calls, runs: 10 ms to 10 minutes. */
  slow: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  /** Between two text deltas, and API requests: 0.5 ms to 5 s. */
  fast: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  /** A whole run: 1 s to a day. */
  run: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
};

export class Metrics {
  readonly registry = new Registry();
  private readonly models = new BoundedValues();
  private readonly tools = new BoundedValues();
  private readonly routes = new BoundedValues(200);
  private readonly failures = new BoundedValues();

  // Runs (counted by the worker that starts or ends them, through workflow sinks).
  readonly runsStarted = new Counter({ name: name('runs_started_total'), help: 'Runs started (a session turn counts as one), by kind.', labelNames: ['kind'], registers: [this.registry] });
  readonly runsEnded = new Counter({
    name: name('runs_ended_total'),
    help: 'Runs ended, by kind and outcome (completed, failed, cancelled) and, for failed ones, error code.',
    labelNames: ['kind', 'outcome', 'error_code'],
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({ name: name('run_duration_seconds'), help: 'From a run\'s start to its end, by kind and outcome.', labelNames: ['kind', 'outcome'], buckets: secondsBuckets.run, registers: [this.registry] });
  readonly historyEvents = new Histogram({
    name: name('run_history_events'),
    help: 'Events in a run execution\'s Temporal history as its last workflow task began (the two closing events follow), by how it ended (continued: as new).',
    labelNames: ['outcome'],
    buckets: [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000],
    registers: [this.registry],
  });
  readonly historyBytes = new Histogram({
    name: name('run_history_bytes'),
    help: 'Bytes of a run execution\'s Temporal history as its last workflow task began, by how it ended (continued: as new).',
    labelNames: ['outcome'],
    buckets: [16e3, 64e3, 256e3, 1e6, 4e6, 16e6, 32e6, 50e6],
    registers: [this.registry],
  });

  // Model steps (the worker's activities).
  readonly timeToFirstToken = new Histogram({
    name: name('model_time_to_first_token_seconds'),
    help: 'From a model step\'s start to its first text delta, by model and provider.',
    labelNames: ['model', 'provider'],
    buckets: secondsBuckets.slow,
    registers: [this.registry],
  });
  readonly interToken = new Histogram({
    name: name('model_inter_token_seconds'),
    help: 'Between two text deltas of a model step as they reached the worker, by model and provider.',
    labelNames: ['model', 'provider'],
    buckets: secondsBuckets.fast,
    registers: [this.registry],
  });
  readonly streamedDeltas = new Counter({
    name: name('model_streamed_deltas_total'),
    help: 'Text deltas streamed from models to readers (about a token each), by model and provider.',
    labelNames: ['model', 'provider'],
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: name('model_tokens_total'),
    help: 'Tokens of completed model steps as the provider reported them, by model, provider and type (input, output).',
    labelNames: ['model', 'provider', 'type'],
    registers: [this.registry],
  });
  readonly modelStepDuration = new Histogram({
    name: name('model_step_duration_seconds'),
    help: 'Model step attempts, start to end, by model, provider and outcome (completed, cancelled, or the failure type).',
    labelNames: ['model', 'provider', 'outcome'],
    buckets: secondsBuckets.slow,
    registers: [this.registry],
  });
  readonly modelRetries = new Counter({ name: name('model_step_retries_total'), help: 'Model step attempts after the first on the same model, by model and provider.', labelNames: ['model', 'provider'], registers: [this.registry] });
  readonly fallbacks = new Counter({ name: name('model_fallbacks_total'), help: 'Model steps handed to a fallback model (MODEL_FALLBACKS), by the model that took over.', labelNames: ['model', 'provider'], registers: [this.registry] });

  // Tool calls.
  readonly toolDuration = new Histogram({
    name: name('tool_call_duration_seconds'),
    help: 'Tool call attempts, start to end, by tool and outcome (completed, failed: a result the model reads, error: retried by Temporal, cancelled).',
    labelNames: ['tool', 'outcome'],
    buckets: secondsBuckets.slow,
    registers: [this.registry],
  });
  readonly toolRetries = new Counter({ name: name('tool_call_retries_total'), help: 'Tool call attempts after the first, by tool.', labelNames: ['tool'], registers: [this.registry] });
  readonly toolCacheHits = new Counter({ name: name('tool_cache_hits_total'), help: 'Tool calls answered from the tool result cache, by tool.', labelNames: ['tool'], registers: [this.registry] });

  // The API.
  readonly httpRequests = new Counter({ name: name('http_requests_total'), help: 'API requests answered, by method, route and status code.', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: name('http_request_duration_seconds'),
    help: 'API requests that are not streams, until the response ended, by method and route.',
    labelNames: ['method', 'route'],
    buckets: secondsBuckets.fast,
    registers: [this.registry],
  });
  readonly streams = new Gauge({ name: name('sse_subscribers'), help: 'Streams open on this API: run events, chat streams and MCP calls that follow a run, by kind.', labelNames: ['kind'], registers: [this.registry] });
  readonly relayConnects = new Counter({
    name: name('relay_connects_total'),
    help: 'Worker stream connections an API opened (result=reconnect: to a worker it had read the run from before).',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly relayFailures = new Counter({ name: name('relay_failures_total'), help: 'Worker streams an API could not open or that broke, after which it read heartbeat details.', registers: [this.registry] });
  readonly relayHeartbeatEvents = new Counter({ name: name('relay_heartbeat_fallback_events_total'), help: 'Events an API took from activity heartbeat details because it could not read the worker\'s stream.', registers: [this.registry] });
  readonly relayUpstreams = new Gauge({ name: name('relay_worker_streams'), help: 'Worker streams an API reads now.', registers: [this.registry] });

  constructor() {
    // process_* and nodejs_* (CPU, memory, event loop lag, GC): a stalled event loop stalls every stream.
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool refuses them); nodejs_active_handles and the rest say the same.
    for (const misnamed of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(misnamed);
  }

  model(value: string): string {
    return this.models.of(value);
  }
  tool(value: string): string {
    return this.tools.of(value);
  }
  route(value: string): string {
    return this.routes.of(value);
  }
  failure(value: string): string {
    return this.failures.of(value);
  }

  /** The exposition text of this registry (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

let shared: Metrics | undefined;

/** The process's metrics, created on first use (METRICS=off: never). */
export function processMetrics(): Metrics {
  shared ??= new Metrics();
  return shared;
}

/** Model and tool calls as metrics: one child series per step, looked up once, so a token costs a clock read and a bucket. */
export function metricsTelemetry(metrics: Metrics): ActivityTelemetry {
  return {
    modelCall(info: ModelCallInfo) {
      const labels = { model: metrics.model(info.model), provider: info.provider };
      if (info.fallback) metrics.fallbacks.inc(labels);
      else if (info.activityAttempt > 1) metrics.modelRetries.inc(labels);
      const startedAt = performance.now();
      let last: number | undefined;
      const interToken = metrics.interToken.labels(labels);
      const deltas = metrics.streamedDeltas.labels(labels);
      return {
        text() {
          const now = performance.now();
          // As the step's firstTokenMs counts it: from the activity's start.
          if (last === undefined) metrics.timeToFirstToken.observe(labels, (Date.now() - info.startedAt) / 1000);
          else interToken.observe((now - last) / 1000);
          last = now;
          deltas.inc();
        },
        end(outcome) {
          const seconds = (performance.now() - startedAt) / 1000;
          metrics.modelStepDuration.observe({ ...labels, outcome: outcome.ok ? 'completed' : metrics.failure(outcome.errorType) }, seconds);
          if (outcome.ok) {
            if (outcome.inputTokens) metrics.tokens.inc({ ...labels, type: 'input' }, outcome.inputTokens);
            if (outcome.outputTokens) metrics.tokens.inc({ ...labels, type: 'output' }, outcome.outputTokens);
          }
        },
      };
    },
    toolCall(info: ToolCallInfo) {
      const tool = metrics.tool(info.tool);
      if (info.attempt > 1) metrics.toolRetries.inc({ tool });
      const startedAt = performance.now();
      return {
        end(outcome) {
          metrics.toolDuration.observe({ tool, outcome: outcome.outcome }, (performance.now() - startedAt) / 1000);
          if (outcome.cached) metrics.toolCacheHits.inc({ tool });
        },
      };
    },
  };
}

/**
 * The worker side of the runs' sink calls (src/workflows/run-metrics.ts): never during replay.
 * Registered with metrics off too (doing nothing): a sink the workflow calls must exist.
 */
export function runMetricsSinks(metrics: Metrics | undefined): InjectedSinks<RunMetricsSinks> {
  if (!metrics) return { runMetrics: { started: { fn: () => undefined }, ended: { fn: () => undefined } } };
  return {
    runMetrics: {
      started: { fn: (_info, kind) => metrics.runsStarted.inc({ kind }), callDuringReplay: false },
      ended: {
        fn: (_info, kind, end: RunEnd) => {
          metrics.historyEvents.observe({ outcome: end.outcome }, end.historyEvents);
          metrics.historyBytes.observe({ outcome: end.outcome }, end.historyBytes);
          if (end.outcome === 'continued') return;
          metrics.runsEnded.inc({ kind, outcome: end.outcome, error_code: end.code ?? '' });
          metrics.runDuration.observe({ kind, outcome: end.outcome }, end.durationMs / 1000);
        },
        callDuringReplay: false,
      },
    },
  };
}
