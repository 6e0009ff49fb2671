import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { mcpToolScopes } from '../mcp/mcp-server';
import { errorResponses } from './error-responses';
import type { PathContext } from './path-context';

// /mcp (src/api/mcp/): the Model Context Protocol over Streamable HTTP. Its messages are
// JSON-RPC, described by the MCP specification, not here; this names the route, its auth and
// the HTTP-level answers.

const jsonRpc = z.object({ jsonrpc: z.literal('2.0') }).catchall(z.unknown()).meta({ description: 'A JSON-RPC 2.0 message of the Model Context Protocol (https://modelcontextprotocol.io/specification).' });
const tools = Object.entries(mcpToolScopes).map(([name, scope]) => `\`${name}\` (${scope})`).join(', ');

export function mcpPaths(context: PathContext): ZodOpenApiPathsObject {
  const { keys } = context;
  const security = { security: keys ? [{ apiKey: [] } as Record<string, string[]>] : [], 'x-scope': 'per tool' };
  const notAllowed = {
    description: 'Stateless: no standing stream and no session. Send every message with POST.',
    ...security,
    responses: errorResponses(context.common, { 405: ['method_not_allowed'] }),
  };
  return {
    '/mcp': {
      post: {
        operationId: 'mcp',
        tags: ['MCP'],
        summary: 'MCP (Streamable HTTP, stateless)',
        description:
          `MCP tools: ${tools}; a call without the tool's scope is a tool error (\`isError\`) with \`insufficient_scope\`. ` +
          'Stateless: no `Mcp-Session-Id`, any replica answers any message. A `tools/call` is answered as a `text/event-stream` (start_run: `notifications/progress`, then the result); send `Accept: application/json, text/event-stream`. ' +
          'JSON-RPC errors of the transport (406 without that Accept, 415 without JSON, 400 for a message that is not JSON-RPC) have a JSON-RPC body.',
        ...security,
        requestBody: { required: true, content: { 'application/json': { schema: z.union([jsonRpc, z.array(jsonRpc)]) } } },
        responses: {
          '200': { description: 'The answer: an SSE stream of JSON-RPC messages (progress, then the response), or one JSON-RPC message', content: { 'text/event-stream': { schema: z.string() }, 'application/json': { schema: jsonRpc } } },
          '202': { description: 'Notifications only: accepted, nothing to answer.' },
          ...errorResponses(context.common, context.post),
        },
      },
      get: { operationId: 'mcpStream', tags: ['MCP'], summary: 'No standing stream (405)', ...notAllowed },
      delete: { operationId: 'mcpEndSession', tags: ['MCP'], summary: 'No session to end (405)', ...notAllowed },
    },
  };
}
