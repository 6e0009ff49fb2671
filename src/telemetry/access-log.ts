import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Principal } from '../api/auth/scopes';
import type { Logger } from './logger';

// One line per HTTP request when it ends (an SSE stream: when it closes): method, path, status,
// time, the tenant and the run it was about. Headers are not logged, and query values only
// where they can hold no secret (a stream token rides in ?token=): credentials never reach a line.

const shownQueryValues = new Set(['from', 'fromStep', 'status', 'limit']);

/** The URL with every query value that could be a credential replaced. */
export function redactedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const query = new URLSearchParams(url.slice(at + 1));
  const shown = [...query.keys()].map((name) => `${encodeURIComponent(name)}=${shownQueryValues.has(name) ? encodeURIComponent(query.get(name) ?? '') : '[redacted]'}`);
  return `${url.slice(0, at)}?${shown.join('&')}`;
}

const runIdPattern = /^\/v1\/runs\/(run_[A-Za-z0-9-]{1,80})(?:[/?]|$)/;

export function accessLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: () => randomUUID(),
    quietReqLogger: true,
    serializers: {
      req: (request: { id: string; method: string; url: string }) => ({ id: request.id, method: request.method, url: redactedUrl(request.url) }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
    customProps: (request: IncomingMessage, response: ServerResponse) => {
      const principal = (response as ServerResponse & { locals?: { principal?: Principal } }).locals?.principal;
      const runId = runIdPattern.exec((request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '')?.[1] ?? principal?.runId;
      return { ...(principal ? { tenant: principal.tenant } : {}), ...(runId ? { runId } : {}) };
    },
    // Reads that went well are debug: a console open on a list reads it every few seconds.
    customLogLevel: (request, response, error) =>
      error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : request.method === 'GET' || request.method === 'HEAD' ? 'debug' : 'info',
    autoLogging: { ignore: (request) => request.url === '/healthz' || (request.url ?? '').startsWith('/assets/') },
  });
}
