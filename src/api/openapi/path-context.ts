import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import type { Scope } from '../auth/scopes';
import type { ErrorCodes } from './error-responses';

// What every group of paths needs to describe its operations for this deployment: who may call,
// the errors every route or every write can answer, and the headers writes carry.

export interface DocumentSettings {
  /** Default: package.json's. */
  version?: string;
  limits: { maxSteps: number; maxInputChars: number; writesPerMinute?: number; maxStreamsPerTenant?: number; maxRunningRunsPerTenant?: number };
  toolNames: string[];
  /** keys: every /v1 route needs a key (or a stream token); open: none (loopbackOnly: loopback Host headers only). */
  access: { open: boolean; loopbackOnly: boolean };
  streamTokenTtlSeconds: number;
  /** GET /v1/tools is served (the app has a tool registry). */
  toolsListed: boolean;
  /** GET /metrics is served (METRICS on). */
  metricsServed?: boolean;
}

type HeaderObjects = Record<string, { description: string; schema: { type: 'string' } }>;

export interface PathContext {
  settings: DocumentSettings;
  /** API keys are configured. */
  keys: boolean;
  /** 429 too_many_running_runs (MAX_RUNNING_RUNS_PER_TENANT). */
  runCap: boolean;
  /** 429 too_many_streams (MAX_STREAMS_PER_TENANT). */
  streamCap: boolean;
  /** Who may call: a key with `scope`; reads of one run also take its stream token. */
  guarded(scope: Scope, options?: { streamToken?: boolean }): Partial<ZodOpenApiOperationObject>;
  /** Any /v1 route. */
  common: ErrorCodes;
  /** A /v1 POST: a JSON body, counted against the key's writes. */
  post: ErrorCodes;
  /** Any /v1 GET: a stream token is checked there (and reaches only its run's reads: else 404 run_not_found). */
  get: ErrorCodes;
  /** A route of one run. */
  runRead: ErrorCodes;
  /** RateLimit and RateLimit-Policy on the answers of writes, when writes are limited. */
  rateHeaders: HeaderObjects;
}

export const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

export const emptyBody = { required: false, ...json(z.object({}).meta({ description: 'Nothing is read: send `{}` (or no body) with Content-Type: application/json.' })) };

export const locationHeader: HeaderObjects = { Location: { description: 'The new resource.', schema: { type: 'string' } } };

export function pathContext(settings: DocumentSettings): PathContext {
  const { limits, access } = settings;
  const keys = !access.open;
  const rateLimited = keys && (limits.writesPerMinute ?? 0) > 0;
  return {
    settings,
    keys,
    runCap: (limits.maxRunningRunsPerTenant ?? 0) > 0,
    streamCap: limits.maxStreamsPerTenant !== undefined && Number.isFinite(limits.maxStreamsPerTenant),
    guarded: (scope, options = {}) => ({
      security: keys ? [{ apiKey: [scope] } as Record<string, string[]>, ...(options.streamToken ? [{ streamToken: [] }] : [])] : [],
      'x-scope': scope,
    }),
    common: { 401: [keys && 'unauthorized'], 403: [keys && 'insufficient_scope', access.loopbackOnly && 'host_not_allowed'], 500: ['internal_error'] },
    post: {
      400: ['invalid_json'],
      413: ['payload_too_large'],
      415: ['unsupported_media_type', 'charset_unsupported', 'encoding_unsupported'],
      429: [rateLimited && 'rate_limited'],
    },
    get: { 401: [keys && 'invalid_stream_token'], 404: [keys && 'run_not_found'] },
    runRead: { 404: ['run_not_found'] },
    rateHeaders: rateLimited
      ? {
          RateLimit: { description: 'IETF draft 8: what is left of this key\'s writes in the window.', schema: { type: 'string' } },
          'RateLimit-Policy': { description: `IETF draft 8: ${limits.writesPerMinute} writes a minute per key.`, schema: { type: 'string' } },
        }
      : {},
  };
}

/** `{headers}` of a response from groups of headers; nothing when all are empty. */
export function withHeaders(...groups: HeaderObjects[]): { headers?: HeaderObjects } {
  const all: HeaderObjects = Object.assign({}, ...groups);
  return Object.keys(all).length > 0 ? { headers: all } : {};
}
