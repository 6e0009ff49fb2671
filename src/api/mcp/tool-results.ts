import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Principal, Scope } from '../auth/scopes';
import { HttpError } from '../errors';

// The shape of every MCP tool answer: a text for the assistant and the same facts as
// structuredContent for programs. Refusals are tool errors (isError) carrying the REST API's
// error code, so a model reads why and a program can branch on `error.code`.

export const toolResult = (text: string, structured: Record<string, unknown>): CallToolResult => ({ content: [{ type: 'text', text }], structuredContent: structured });

export const toolError = (code: string, message: string, extra: Record<string, unknown> = {}): CallToolResult => ({
  isError: true,
  content: [{ type: 'text', text: `${code}: ${message}` }],
  structuredContent: { ...extra, error: { code, message } },
});

/** The tool error for a refusal of the API (its code and message); anything else is rethrown. */
export function refusal(error: unknown): CallToolResult {
  if (error instanceof HttpError) return toolError(error.code, error.message);
  throw error;
}

/** undefined when the key has the scope; else the tool error a call without it gets. */
export function missingScope(principal: Principal, scope: Scope, tool: string): CallToolResult | undefined {
  if (principal.scopes.has(scope)) return undefined;
  return toolError('insufficient_scope', `this key lacks the scope ${scope}, which ${tool} needs`);
}
