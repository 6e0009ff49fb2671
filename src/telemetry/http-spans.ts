import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { routeOf } from './route-of';

// A SERVER span per API request (HTTP semantic conventions): `POST /v1/runs`, with the method,
// the route's template and the status. A caller's W3C traceparent is continued, so its trace
// goes on into the run. Never the URL's path values or query, headers or bodies: they hold run
// ids, stream tokens and keys. An SSE stream's span lasts as long as the stream.

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);


export function httpSpans(tracer: Tracer): RequestHandler {
  return (request, response, next) => {
    const method = knownMethods.has(request.method) ? request.method : '_OTHER';
    // A malformed traceparent is ignored: the request starts a trace of its own.
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
    const active = trace.setSpan(parent, span);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = routeOf(request);
      if (route) {
        span.setAttribute('http.route', route);
        span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${route}`);
      }
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) {
        span.setAttribute('error.type', String(response.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
    response.once('finish', end);
    response.once('close', end);
    // Body parsing resumes from the socket's events: bound, they keep the request's context.
    context.bind(active, request);
    context.bind(active, response);
    context.with(active, next);
  };
}
