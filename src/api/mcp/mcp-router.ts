import { createRequire } from 'node:module';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Router } from 'express';
import { principalOf } from '../auth/authenticate';
import type { Principal } from '../auth/scopes';
import { HttpError } from '../errors';
import type { McpContext } from './mcp-context';
import { createMcpServer, mcpToolScopes } from './mcp-server';

// POST /mcp: the Model Context Protocol over Streamable HTTP, behind the API's own keys
// (app.ts mounts authenticate before it). Stateless: no Mcp-Session-Id, a fresh server and
// transport per POST, so any replica behind a load balancer answers any request. A tools/call
// is answered on its own POST as an SSE stream (progress notifications, then the result).
// GET (a standing stream for server-initiated messages) and DELETE (ending a session) have
// nothing to serve without sessions: 405, which MCP clients expect then.

const version = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

interface JsonRpcMessage {
  method?: string;
  id?: string | number;
  params?: { name?: unknown; requestId?: string | number };
}

const messagesOf = (body: unknown): JsonRpcMessage[] => [body].flat().filter((message): message is JsonRpcMessage => typeof message === 'object' && message !== null);

/** Tool calls that change something count against the key's writes (as POST /v1/runs and decisions do); reads, listing and the handshake do not. */
export function isMcpWrite(body: unknown): boolean {
  return messagesOf(body).some((message) => message.method === 'tools/call' && (mcpToolScopes as Record<string, string>)[String(message.params?.name)] !== 'runs:read');
}

export function mcpRouter(context: McpContext): Router {
  const router = Router();
  /**
   * Tool calls being answered on this replica, by key and request id: without sessions a
   * client's notifications/cancelled comes on a POST of its own. It stops the watching only
   * (the run is durable). A cancel that reaches another replica changes nothing there.
   */
  const inFlight = new Map<string, AbortController>();
  const callKey = (principal: Principal, requestId: string | number | undefined) => `${principal.keyId}\0${String(requestId)}`;

  router.post('/mcp', async (request, response) => {
    const principal = principalOf(request);
    const messages = messagesOf(request.body);
    for (const message of messages) if (message.method === 'notifications/cancelled') inFlight.get(callKey(principal, message.params?.requestId))?.abort();
    const watch = new AbortController();
    const calls = messages.filter((message) => message.method === 'tools/call' && message.id !== undefined).map((message) => callKey(principal, message.id));
    for (const key of calls) inFlight.set(key, watch);

    const server = createMcpServer(context, principal, watch.signal, version);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, keepAliveMs: context.keepAliveMs });
    response.on('close', () => {
      watch.abort();
      for (const key of calls) if (inFlight.get(key) === watch) inFlight.delete(key);
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // A tool call is answered as SSE: no proxy buffering of its progress.
    response.setHeader('X-Accel-Buffering', 'no');
    await transport.handleRequest(request, response, request.body);
  });

  const noSessions = () => {
    throw new HttpError(405, 'method_not_allowed', 'this MCP endpoint is stateless: send every message with POST /mcp (no standing stream, no session to end)', { Allow: 'POST' });
  };
  router.get('/mcp', noSessions);
  router.delete('/mcp', noSessions);
  return router;
}
