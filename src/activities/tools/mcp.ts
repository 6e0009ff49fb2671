import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ProgressNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { ToolInputError, type ToolDefinition } from './registry';

// Tools of MCP servers (stdio or Streamable HTTP), listed in a JSON file (MCP_CONFIG):
//   {"servers": {"files": {"command": "npx", "args": ["-y", "some-mcp-server"]},
//                "remote": {"url": "http://localhost:8000/mcp", "headers": {"authorization": "Bearer …"}}}}
// ("mcpServers" is accepted too.) Each tool joins the registry as <server>__<tool> with its own
// JSON Schema; its progress notifications become tool.progress events.

const stdioServer = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  timeoutMs: z.number().int().positive().optional(),
});
const httpServer = z.strictObject({
  url: z.url(),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().positive().optional(),
});
const configSchema = z
  .object({
    servers: z.record(z.string(), z.union([stdioServer, httpServer])).optional(),
    mcpServers: z.record(z.string(), z.union([stdioServer, httpServer])).optional(),
  })
  .transform((config) => ({ ...config.mcpServers, ...config.servers }));

export type McpServerConfig = z.infer<typeof stdioServer> | z.infer<typeof httpServer>;

export function loadMcpConfig(path: string): Record<string, McpServerConfig> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`MCP_CONFIG ${path}: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`MCP_CONFIG ${path}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const badName = Object.keys(parsed.data).find((name) => !/^[A-Za-z0-9_-]{1,32}$/.test(name));
  if (badName !== undefined) throw new Error(`MCP_CONFIG ${path}: server "${badName}": server names are 1-32 of A-Z a-z 0-9 _ -`);
  return parsed.data;
}

export interface McpTools {
  tools: ToolDefinition[];
  close(): Promise<void>;
}

const toolName = (server: string, tool: string) => `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);

export async function connectMcpServers(servers: Record<string, McpServerConfig>, log: (line: string) => void = () => undefined): Promise<McpTools> {
  const clients: Client[] = [];
  const tools: ToolDefinition[] = [];
  try {
    for (const [server, config] of Object.entries(servers)) {
      const client = new Client({ name: 'durable-agents', version: '0.1.0' });
      const transport =
        'command' in config
          ? new StdioClientTransport({ command: config.command, args: config.args, env: { ...getDefaultEnvironment(), ...config.env }, cwd: config.cwd, stderr: 'inherit' })
          : new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
      const progress = routeProgress(client);
      await client.connect(transport);
      clients.push(client);
      const { tools: listed } = await client.listTools();
      for (const tool of listed) tools.push(mcpTool(client, progress, server, tool, config.timeoutMs ?? 60_000));
      log(`MCP server "${server}": ${listed.length} tools (${listed.map((tool) => tool.name).join(', ')})`);
    }
  } catch (error) {
    await Promise.allSettled(clients.map((client) => client.close()));
    throw error;
  }
  return { tools, close: async () => void (await Promise.allSettled(clients.map((client) => client.close()))) };
}

interface ListedTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; idempotentHint?: boolean };
}

type ProgressRoutes = Map<string, (progress: Progress) => void>;

/**
 * Progress notifications by token, ours rather than the SDK's onprogress: the SDK hands a
 * notification to its handler a microtask later but forgets the call's progress handler as soon as
 * the response is read, so the last progress of a call, read in the same chunk as its response,
 * was lost. A route here lives until the call's own code has resumed, after every notification
 * read before the response.
 */
function routeProgress(client: Client): ProgressRoutes {
  const routes: ProgressRoutes = new Map();
  client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
    const { progressToken, ...progress } = notification.params;
    routes.get(String(progressToken))?.(progress);
  });
  return routes;
}

function mcpTool(client: Client, routes: ProgressRoutes, server: string, tool: ListedTool, timeoutMs: number): ToolDefinition<Record<string, unknown>> {
  return {
    name: toolName(server, tool.name),
    source: 'mcp',
    description: tool.description ?? `${tool.name} (MCP server ${server})`,
    // The server validates against its own schema; the model is shown that schema.
    parameters: z.record(z.string(), z.unknown()),
    jsonSchema: tool.inputSchema,
    idempotent: tool.annotations?.readOnlyHint === true || tool.annotations?.idempotentHint === true,
    // One adaptive concurrency limit per server: its tools share its capacity.
    concurrencyKey: () => `mcp:${server}`,
    timeoutMs,
    async run(args, context) {
      const progressToken = randomUUID();
      routes.set(progressToken, (progress) =>
        context.progress({
          ...(progress.message ? { message: progress.message } : {}),
          ...(progress.total ? { fraction: progress.progress / progress.total } : {}),
          data: { progress: progress.progress, ...(progress.total ? { total: progress.total } : {}) },
        }),
      );
      let result;
      try {
        // The request's timeout is the tool's whole budget: the activity ends there anyway.
        result = await client.callTool({ name: tool.name, arguments: args, _meta: { progressToken } }, undefined, { signal: context.signal, timeout: timeoutMs });
      } finally {
        routes.delete(progressToken);
      }
      const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
      const text = content.map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`)).join('\n');
      if (result.isError) throw new ToolInputError(text || `MCP tool ${tool.name} reported an error`);
      return result.structuredContent ?? text;
    },
  };
}
