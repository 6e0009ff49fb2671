import { calculatorTool } from './calculator-tool';
import { customTools } from './custom';
import type { ToolDefinition } from './registry';

export const builtinTools: ToolDefinition[] = [calculatorTool];

/** Every tool a worker offers: the built-in ones and yours (custom.ts). */
export function defaultTools(): ToolDefinition[] {
  return [...builtinTools, ...customTools];
}
