import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { HttpError } from '../errors';
import { principalOf } from './authenticate';

// Writes per key and minute (RATE_LIMIT_WRITES_PER_MINUTE), so one caller looping on POST cannot
// crowd out everyone's run starts, cancels and decisions on this replica. It runs after
// authenticate: the bucket is the key's id, never the key. An open API (no keys) is not limited:
// it answers this machine's loopback only, every client shares one address, and a limit there
// would only throttle its one user (the benchmarks start 100 runs at once). Every authenticated write attempt counts, refused or not:
// a 404 cancel or an invalid start costs the same Temporal round trip, and not counting failures
// would leave probing for run ids unlimited. Reads are never limited (stream tokens only read;
// MAX_STREAMS_PER_TENANT bounds streams). Counts live in this process: each replica counts alone.

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const windowMs = 60_000;

export interface WriteRateLimits {
  /** RATE_LIMIT_WRITES_PER_MINUTE; 0 or unset: off. */
  writesPerMinute?: number;
}

/** A POST under /v1 is a write. */
export const isWriteMethod = (request: Request): boolean => !safeMethods.has(request.method);

/** @param isWrite which requests count (default: every POST); one limiter shared by mounts shares each key's budget. */
export function writeRateLimit(options: WriteRateLimits & { open: boolean; isWrite?: (request: Request) => boolean }): RequestHandler {
  const isWrite = options.isWrite ?? isWriteMethod;
  const limit = options.writesPerMinute ?? 0;
  if (limit <= 0 || options.open) return (_request, _response, next) => next();
  return rateLimit({
    windowMs,
    limit,
    // RateLimit and RateLimit-Policy (IETF draft 8), so clients can pace themselves; its partition key is a hash.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: 'writes',
    skip: (request) => !isWrite(request),
    keyGenerator: (request) => `key:${principalOf(request).keyId}`,
    // The library has set Retry-After (seconds until this caller's window ends); the error handler answers.
    handler: (_request, response, next) => {
      const retryAfter = String(response.getHeader('Retry-After') ?? windowMs / 1000);
      next(new HttpError(429, 'rate_limited', `more than ${limit} writes in a minute with this key (RATE_LIMIT_WRITES_PER_MINUTE); retry in ${retryAfter} s`, { 'Retry-After': retryAfter }));
    },
  });
}
