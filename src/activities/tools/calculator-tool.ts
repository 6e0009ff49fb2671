import { z } from 'zod';
import { CalculatorError, evaluate, formatNumber } from './calculator';
import { ToolInputError, type ToolDefinition } from './registry';

export const calculatorTool: ToolDefinition<{ expression: string }> = {
  name: 'calculator',
  description: 'Evaluates an arithmetic expression with + - * / % ^ and parentheses, e.g. "(3+4)/2".',
  parameters: z.object({ expression: z.string().min(1).max(1000).describe('The arithmetic expression') }),
  idempotent: true,
  // Arithmetic in this process: no backend to protect from load.
  concurrencyKey: null,
  timeoutMs: 10_000,
  run({ expression }) {
    try {
      return formatNumber(evaluate(expression));
    } catch (error) {
      if (error instanceof CalculatorError) throw new ToolInputError(error.message);
      throw error;
    }
  },
};
