import { defaultTools } from './activities/tools';
import { connectMcpServers, loadMcpConfig } from './activities/tools/mcp';
import { ToolRegistry } from './activities/tools/registry';
import type { Config } from './config';

/** The registry a worker and its API offer: built-in, custom and MCP tools. */
export async function setUpTools(config: Config, log: (line: string) => void): Promise<{ registry: ToolRegistry; close(): Promise<void> }> {
  const registry = new ToolRegistry(defaultTools(config.tools), { concurrency: config.tools.concurrency });
  if (!config.mcpConfigPath) return { registry, close: async () => undefined };
  const mcp = await connectMcpServers(loadMcpConfig(config.mcpConfigPath), log);
  for (const tool of mcp.tools) registry.add(tool);
  return { registry, close: () => mcp.close() };
}
