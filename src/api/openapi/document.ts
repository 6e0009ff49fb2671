import { createRequire } from 'node:module';
import { createDocument } from 'zod-openapi';
import { scopes } from '../auth/scopes';
import { runRequestSchema, sessionRequestSchemas } from '../run-request';
import { decisionSchema } from '../runs-router';
import { chatPaths } from './chat-paths';
import { mcpPaths } from './mcp-paths';
import { operationPaths } from './operation-paths';
import { pathContext, type DocumentSettings } from './path-context';
import { runPaths } from './run-paths';
import { sessionPaths } from './session-paths';

// The OpenAPI 3.1 document of this API, generated at start (zod-openapi) from the zod schemas the
// routers validate with, built from the same limits and tool names, and from the response and
// event schemas of this folder. It describes this deployment: its auth, limits and error codes.

export type { DocumentSettings } from './path-context';
export type OpenApiDocument = ReturnType<typeof createDocument>;

const packageVersion = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

export function createOpenApiDocument(settings: DocumentSettings): OpenApiDocument {
  const context = pathContext(settings);
  const { keys } = context;
  const { limits, access } = settings;
  const runRequest = runRequestSchema({ maxSteps: limits.maxSteps, toolNames: settings.toolNames });
  const sessionRequests = sessionRequestSchemas({ maxSteps: limits.maxSteps, toolNames: settings.toolNames });
  const rateLimited = Object.keys(context.rateHeaders).length > 0;

  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'durable-agents',
      version: settings.version ?? packageVersion,
      description: [
        'Durable AI-agent runs on Temporal, every token streamed live over SSE. This document is generated at start from the schemas the API validates with, for this deployment (its limits, tools and auth).',
        keys
          ? 'Every `/v1` route needs `Authorization: Bearer <key>`; each operation names the scope it needs (`x-scope`). Reads of one run also take its stream token in `?token=` (EventSource cannot send headers).'
          : `No API keys are configured: every route is open${access.loopbackOnly ? ', to loopback Host headers only (others: 403 host_not_allowed)' : ''}.`,
        'Every error is `{"error": {"code", "message"}}`. Besides the codes listed per operation, any request can get `404 not_found` (no such route), `431 headers_too_large` (request line and headers over 16 KB) and `400 bad_request` (not valid HTTP).',
        rateLimited
          ? `Writes (every /v1 POST) are limited to ${limits.writesPerMinute} a minute per key and API replica: \`429 rate_limited\` with \`Retry-After\`; every write answer carries \`RateLimit\` and \`RateLimit-Policy\`.`
          : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    },
    tags: [
      { name: 'Runs', description: 'Start, read, list and cancel runs; decide tool approvals.' },
      { name: 'Events', description: 'The live event stream of a run (SSE) and its stream tokens.' },
      { name: 'Sessions', description: 'Conversations: each message is a run that sees the earlier turns.' },
      { name: 'Tools', description: 'The tools a run may offer its model.' },
      { name: 'MCP', description: 'The Model Context Protocol: start runs, read them and decide approvals from assistants and IDEs.' },
      { name: 'Operations', description: 'Health, and the payload codec for the Temporal Web UI.' },
      { name: 'Reference', description: 'This document and its interactive reference.' },
    ],
    paths: { ...runPaths(context, runRequest), ...sessionPaths(context, sessionRequests), ...chatPaths(context), ...mcpPaths(context), ...operationPaths(context) },
    components: {
      ...(keys
        ? {
            securitySchemes: {
              apiKey: {
                type: 'http',
                scheme: 'bearer',
                description: `An API key (API_KEYS or API_KEYS_FILE). It belongs to a tenant and has scopes: ${scopes.join(', ')}. Missing or unknown: 401 unauthorized; without the operation's scope: 403 insufficient_scope.`,
              },
              streamToken: {
                type: 'apiKey',
                in: 'query',
                name: 'token',
                description: `A stream token (from POST /v1/runs, a session message, or POST /v1/runs/{runId}/stream-tokens): GET reads of one run, for ${settings.streamTokenTtlSeconds} s. Expired, tampered or another run's: 401 invalid_stream_token.`,
              },
            },
          }
        : {}),
      schemas: { RunRequest: runRequest, SessionCreateRequest: sessionRequests.create, SessionMessageRequest: sessionRequests.message, ApprovalDecisionRequest: decisionSchema },
    },
  });
}
