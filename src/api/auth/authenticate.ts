import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors';
import type { ApiKeys } from './api-keys';
import { scopes, type Principal, type Scope } from './scopes';
import type { StreamTokens } from './stream-tokens';

// Who is calling: `Authorization: Bearer <key>`, or a stream token in `?token=` (EventSource
// cannot send headers) on the reads of the one run it was minted for. With no keys configured the
// API is open (loopback only, see host-check.ts) and every caller is the tenant "local".

export const realm = 'durable-agents';
export const openTenant = 'local';

const openPrincipal: Principal = { keyId: 'open', tenant: openTenant, scopes: new Set(scopes) };

export class AuthError extends HttpError {
  constructor(status: 401 | 403, code: string, message: string, challenge: string) {
    super(status, code, message, { 'WWW-Authenticate': challenge });
  }
}

export function principalOf(request: Request): Principal {
  const principal = request.res?.locals.principal as Principal | undefined;
  if (!principal) throw new Error('no principal: the authenticate middleware did not run');
  return principal;
}

export function authenticate(options: { keys?: ApiKeys; tokens: StreamTokens; open: boolean }): RequestHandler {
  return async (request, response, next) => {
    try {
      response.locals.principal = await identify(request, options);
      next();
    } catch (error) {
      next(error);
    }
  };
}

async function identify(request: Request, options: { keys?: ApiKeys; tokens: StreamTokens; open: boolean }): Promise<Principal> {
  if (options.open) return openPrincipal;
  const header = request.header('authorization');
  const token = typeof request.query.token === 'string' ? request.query.token : undefined;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = match ? options.keys?.verify(match[1]!) : undefined;
    if (!principal) throw new AuthError(401, 'unauthorized', 'the API key is missing, malformed or not known', `Bearer realm="${realm}", error="invalid_token"`);
    return principal;
  }
  if (token !== undefined && request.method === 'GET') {
    const verified = await options.tokens.verify(token);
    if ('error' in verified) throw new AuthError(401, 'invalid_stream_token', verified.error, `Bearer realm="${realm}", error="invalid_token"`);
    return verified.principal;
  }
  throw new AuthError(401, 'unauthorized', 'send an API key: Authorization: Bearer <key>', `Bearer realm="${realm}"`);
}

/** The route needs `scope`; a stream token also only reaches the run it was minted for. */
export function requireScope(scope: Scope): RequestHandler {
  return (request, _response, next) => {
    const principal = principalOf(request);
    if (principal.runId !== undefined) {
      const runId = request.params.runId;
      if (runId !== principal.runId) return next(new HttpError(404, 'run_not_found', `no run with id "${String(runId ?? '').slice(0, 200)}"`));
    }
    if (!principal.scopes.has(scope)) {
      return next(new AuthError(403, 'insufficient_scope', `this key lacks the scope ${scope}`, `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`));
    }
    next();
  };
}
