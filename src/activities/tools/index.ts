import { calculatorTool } from './calculator-tool';
import { currentTimeTool } from './current-time-tool';
import { customTools } from './custom';
import { createHttpGetTool, type HttpGetOptions } from './http-get-tool';
import type { ToolDefinition } from './registry';
import { waitTool } from './wait-tool';
import { createWorkspaceTools } from './workspace-tools';

export interface ToolSettings {
  /** Directory the workspace tools (list_files, read_file, search_files) may read. */
  workspaceDir: string;
  httpGet: HttpGetOptions;
}

export function builtinTools(settings: ToolSettings): ToolDefinition[] {
  return [calculatorTool, waitTool, currentTimeTool, createHttpGetTool(settings.httpGet), ...createWorkspaceTools(settings.workspaceDir)];
}

/** Every tool a worker offers: the built-in ones and yours (custom.ts). */
export function defaultTools(settings: ToolSettings): ToolDefinition[] {
  return [...builtinTools(settings), ...customTools];
}
