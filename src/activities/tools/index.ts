import { calculatorTool } from './calculator-tool';
import { currentTimeTool } from './current-time-tool';
import { customTools } from './custom';
import type { ToolConcurrencyOptions } from './concurrency-limiter';
import { createHttpGetTool, type HttpGetOptions } from './http-get-tool';
import type { ToolDefinition } from './registry';
import { waitTool } from './wait-tool';
import { createWorkspaceTools } from './workspace-tools';

export interface ToolSettings {
  /** Directory the workspace tools (list_files, read_file, search_files) may read. */
  workspaceDir: string;
  httpGet: HttpGetOptions;
  /** TOOL_ADAPTIVE_CONCURRENCY and TOOL_MAX_CONCURRENCY_PER_KEY: each worker's limits per tool or host. */
  concurrency?: ToolConcurrencyOptions;
}

export function builtinTools(settings: ToolSettings): ToolDefinition[] {
  return [calculatorTool, waitTool, currentTimeTool, createHttpGetTool(settings.httpGet), ...createWorkspaceTools(settings.workspaceDir)];
}

/** Every tool a worker offers: the built-in ones and yours (custom.ts). */
export function defaultTools(settings: ToolSettings): ToolDefinition[] {
  return [...builtinTools(settings).map((tool) => ({ ...tool, source: 'built-in' as const })), ...customTools.map((tool) => ({ ...tool, source: 'custom' as const }))];
}
