import { z } from 'zod';
import { calculatorTool } from './calculator-tool';

// A tool is defined once: its name, description, arguments as a zod schema (the JSON Schema the
// model sees is generated from it) and run(). The workflow knows tools only by name.

export interface ToolContext {
  signal: AbortSignal;
  attempt: number;
  /** Stable across retries of one call: run id + call id. */
  idempotencyKey: string;
}

export interface ToolDefinition<Args = any> {
  name: string;
  description: string;
  parameters: z.ZodType<Args>;
  run(args: Args, context: ToolContext): Promise<string> | string;
}

/** A failure that retrying cannot fix (bad input): reported to the model at once. */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

export interface OpenAiToolSpec {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(tools: ToolDefinition[]) {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is defined twice`);
      this.tools.set(tool.name, tool);
    }
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  get names(): string[] {
    return [...this.tools.keys()];
  }

  specs(names: string[]): OpenAiToolSpec[] {
    return names.flatMap((name) => {
      const tool = this.tools.get(name);
      if (!tool) return [];
      const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.parameters) as Record<string, unknown>;
      return [{ type: 'function' as const, function: { name: tool.name, description: tool.description, parameters } }];
    });
  }
}

export const builtinTools: ToolDefinition[] = [calculatorTool];
