import type { Request, RequestHandler, Response } from 'express';
import type { Client } from '@temporalio/client';
import { Gauge } from 'prom-client';
import { agentTurnWorkflowType } from '../workflows/definitions';
import { metricsPrefix, type Metrics } from './metrics';
import { routeOf } from './route-of';
import { temporalMetricsText } from './temporal-runtime';

// The API's request metrics and its /metrics route. A request is labelled by the route that
// answered it (`/v1/runs/:runId`), never by its path or query. Streams (SSE) are counted, not
// timed: their length is the reader's, not the API's speed.

/** The route's template; requests no single route answered (a 404, a refusal before routing) share one label. */
const routeLabel = (request: Request) => routeOf(request) ?? (request.route ? '(several)' : '(unmatched)');

export function httpMetrics(metrics: Metrics): RequestHandler {
  return (request, response, next) => {
    const startedAt = performance.now();
    response.once('finish', () => {
      const route = metrics.route(routeLabel(request));
      const method = request.method;
      metrics.httpRequests.inc({ method, route, status: String(response.statusCode) });
      if (!String(response.getHeader('content-type') ?? '').includes('text/event-stream')) {
        metrics.httpDuration.observe({ method, route }, (performance.now() - startedAt) / 1000);
      }
    });
    next();
  };
}

/** Prometheus text format 0.0.4: this process's metrics, then the Temporal SDK's (with a worker in this process). */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';

export async function metricsExposition(metrics: Metrics, temporalMetricsUrl?: string): Promise<string> {
  const [own, sdk] = await Promise.all([metrics.text(), temporalMetricsText(temporalMetricsUrl)]);
  return sdk ? `${own}\n${sdk}` : own;
}

export function metricsRoute(metrics: Metrics, temporalMetricsUrl?: string): RequestHandler {
  return (_request, response: Response, next) => {
    metricsExposition(metrics, temporalMetricsUrl).then(
      (text) => response.type(metricsContentType).set('cache-control', 'no-store').send(text),
      next,
    );
  };
}

/**
 * Runs running now, as Temporal's visibility counts them when Prometheus scrapes (a count query,
 * not a sum of this process's starts and ends, which restarts and other replicas would skew).
 * Every API replica says the same figure: take the max. Unchanged when visibility does not answer.
 */
export function countRunningRuns(metrics: Metrics, client: Client, taskQueue: string): void {
  const name = `${metricsPrefix}runs_running`;
  if (metrics.registry.getSingleMetric(name)) return;
  const query = `WorkflowType = "${agentTurnWorkflowType}" AND ExecutionStatus = "Running" AND TaskQueue = "${taskQueue.replace(/["\\]/g, '')}"`;
  new Gauge({
    name,
    help: 'Runs running now (session turns included), as Temporal visibility counts them; every API replica says the same.',
    registers: [metrics.registry],
    async collect() {
      try {
        this.set((await client.workflow.count(query)).count);
      } catch {
        // Visibility unavailable: the last figure stands (Temporal's own health is in temporal_request_failure_total).
      }
    },
  });
}
