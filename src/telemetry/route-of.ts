import type { Request } from 'express';

// What request spans (http-spans.ts) and request metrics (http-metrics.ts) name a request by:
// the route that answered it, never its path (run ids) or query (stream tokens).

/** The matched route's template (`/v1/runs/:runId`), or undefined when no route answered (404, refused early). */
export function routeOf(request: Request): string | undefined {
  const path: unknown = request.route?.path;
  return typeof path === 'string' ? `${request.baseUrl}${path === '/' && request.baseUrl ? '' : path}` : undefined;
}
