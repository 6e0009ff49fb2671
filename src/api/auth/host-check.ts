import type { RequestHandler } from 'express';
import { HttpError } from '../errors';

// An API with no keys is open, so it listens on loopback only and answers only requests whose
// Host is a loopback name: a web page elsewhere that resolves its own name to 127.0.0.1 (DNS
// rebinding) sends its own Host, and is refused.

const loopbackHost = /^(localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;

export const isLoopbackHost = (host: string | undefined): boolean => host !== undefined && loopbackHost.test(host);

export function loopbackHostsOnly(): RequestHandler {
  return (request, _response, next) => {
    if (isLoopbackHost(request.header('host'))) return next();
    next(new HttpError(403, 'host_not_allowed', 'this API has no keys, so it answers only requests to a loopback host (localhost, 127.0.0.1); set API_KEYS or API_KEYS_FILE to serve other hosts'));
  };
}
