import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathItemObject, ZodOpenApiPathsObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { payloadsBody } from '../codec-router';
import { errorResponses } from './error-responses';
import { json, type PathContext } from './path-context';
import * as bodies from './response-schemas';

// The routes around the runs: the tool list, health, the payload codec, and this reference.

export function operationPaths(context: PathContext): ZodOpenApiPathsObject {
  const { common, guarded, settings } = context;
  const hostOnly = errorResponses({ 403: [settings.access.loopbackOnly && 'host_not_allowed'] });
  const text = (mediaType: string) => ({ content: { [mediaType]: { schema: { type: 'string' as const } } } });
  return {
    ...(settings.toolsListed
      ? {
          '/v1/tools': {
            get: {
              operationId: 'listTools',
              tags: ['Tools'],
              summary: 'List tools',
              description: 'Every tool a run may offer its model, its policies and the analytics every worker shares.',
              ...guarded('runs:read'),
              responses: { '200': { description: 'The tools', ...json(bodies.toolListSchema) }, ...errorResponses(common, context.get) },
            },
          },
        }
      : {}),
    '/codec/encode': { post: codecOperation(context, 'encode') },
    '/codec/decode': { post: codecOperation(context, 'decode') },
    '/healthz': {
      get: {
        operationId: 'health',
        tags: ['Operations'],
        summary: 'Health',
        description: 'Whether Temporal answers. No key needed.',
        security: [],
        responses: { '200': { description: 'Temporal answers', ...json(bodies.healthSchema) }, ...errorResponses({ 403: [settings.access.loopbackOnly && 'host_not_allowed'], 503: ['temporal_unavailable'] }) },
      },
    },
    ...(settings.metricsServed
      ? {
          '/metrics': {
            get: {
              operationId: 'metrics',
              tags: ['Operations'],
              summary: 'Prometheus metrics',
              description:
                'This process\'s metrics in the Prometheus text format (0.0.4): runs, model steps (time to first token, between tokens, tokens), tool calls, streams, the relay, and with a worker in this process the Temporal SDK\'s own `temporal_*` metrics. For Prometheus: a key with the `metrics` scope as its bearer token. METRICS=off: not served.',
              ...guarded('metrics'),
              responses: { '200': { description: 'The metrics', ...text('text/plain') }, ...errorResponses(common) },
            },
          },
        }
      : {}),
    '/openapi.json': {
      get: {
        operationId: 'openApiDocument',
        tags: ['Reference'],
        summary: 'This document',
        description: 'No key needed: it holds no secrets.',
        security: [],
        responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } }, ...hostOnly },
      },
    },
    ...consolePages(hostOnly),
    '/docs': {
      get: {
        operationId: 'apiReference',
        tags: ['Reference'],
        summary: 'Interactive reference',
        description: 'A page that renders this document (RapiDoc, served by this API: no CDN), with a console to try requests. No key needed to open it.',
        security: [],
        responses: { '200': { description: 'The page', ...text('text/html') }, ...hostOnly },
      },
    },
    '/docs/rapidoc-min.js': {
      get: {
        operationId: 'apiReferenceScript',
        tags: ['Reference'],
        summary: 'The reference\'s renderer',
        security: [],
        responses: { '200': { description: 'RapiDoc\'s script', ...text('text/javascript') }, ...hostOnly },
      },
    },
  };
}

/** The codec endpoint is not under /v1: its own body parser (16 MB), no write limit. */
function codecOperation(context: PathContext, name: 'encode' | 'decode'): ZodOpenApiOperationObject {
  return {
    operationId: `${name}Payloads`,
    tags: ['Operations'],
    summary: `${name === 'encode' ? 'Encode' : 'Decode'} Temporal payloads`,
    description: 'Temporal\'s remote codec protocol, for the Web UI and `temporal workflow show --codec-endpoint` (payload encryption, PAYLOAD_KEYS). CORS also allows the Temporal UI\'s origins.',
    ...context.guarded('codec'),
    requestBody: { required: true, ...json(payloadsBody) },
    responses: {
      '200': { description: `The ${name}d payloads`, ...json(bodies.payloadsSchema) },
      ...errorResponses(context.common, {
        400: ['invalid_json', 'invalid_payloads', name === 'decode' && 'payload_not_decryptable'],
        404: ['codec_not_configured'],
        413: ['payload_too_large'],
        415: ['unsupported_media_type', 'charset_unsupported', 'encoding_unsupported'],
      }),
    },
  };
}

/** The web console's pages: one single-page app at each of these paths (no key to load it; it asks). */
function consolePages(hostOnly: ZodOpenApiResponsesObject): Record<string, ZodOpenApiPathItemObject> {
  const text = (mediaType: string) => ({ content: { [mediaType]: { schema: { type: 'string' as const } } } });
  const page = (operationId: string, summary: string, path?: z.ZodObject): ZodOpenApiPathItemObject => ({
    get: {
      operationId,
      tags: ['Console'],
      summary,
      description: 'The web console (a page and its scripts under /assets). No key is needed to load it; with keys configured it asks for one.',
      security: [],
      ...(path ? { requestParams: { path } } : {}),
      responses: { '200': { description: 'The page', ...text('text/html') }, '503': { description: 'The console is not built (`npm run build:web`)', ...text('text/html') }, ...hostOnly },
    },
  });
  return {
    '/': page('consoleRuns', 'Console: runs'),
    '/runs/{runId}': page('consoleRun', 'Console: a run, live', z.object({ runId: z.string() })),
    '/sessions': page('consoleSessions', 'Console: sessions'),
    '/sessions/{sessionId}': page('consoleSession', 'Console: a session', z.object({ sessionId: z.string() })),
    '/favicon.svg': {
      get: { operationId: 'consoleIcon', tags: ['Console'], summary: 'The console\'s icon', security: [], responses: { '200': { description: 'An SVG', ...text('image/svg+xml') }, ...hostOnly } },
    },
  };
}
