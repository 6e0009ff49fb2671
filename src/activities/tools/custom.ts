import type { ToolDefinition } from './registry';

// Your tools: add a ToolDefinition here (see calculator-tool.ts for one) and every worker offers
// it; the workflow needs no change. Each call runs as the activity `tool:<name>`.
export const customTools: ToolDefinition[] = [];
