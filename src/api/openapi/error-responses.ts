import { z } from 'zod';
import type { ZodOpenApiResponsesObject } from 'zod-openapi';

// Error answers in the document: every status an operation can return, with the exact codes it
// can carry there (an enum, so a response with an undocumented code fails the document's test).

const reasons: Record<number, string> = {
  400: 'Bad request',
  401: 'No valid credentials',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Too large',
  415: 'Not JSON',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Unavailable',
};

const headerNotes: Record<number, Record<string, { description: string; schema: { type: 'string' } }>> = {
  401: { 'WWW-Authenticate': { description: 'Bearer realm="durable-agents", with error="invalid_token" for a bad key or token.', schema: { type: 'string' } } },
  403: { 'WWW-Authenticate': { description: 'With insufficient_scope: error="insufficient_scope" and the scope needed.', schema: { type: 'string' } } },
  429: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } } },
};

export type ErrorCodes = Partial<Record<number, Array<string | false | undefined>>>;

/** `{"error": {"code", "message"}}` with one of `codes`. */
export const errorBody = (codes: string[]) =>
  z.object({ error: z.object({ code: z.enum(codes as [string, ...string[]]), message: z.string().meta({ description: 'For people: what went wrong and what to do.' }) }) });

/** The error responses of an operation; several lists for one status are merged, falsy entries left out. */
export function errorResponses(...lists: ErrorCodes[]): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, Set<string>>();
  for (const list of lists) {
    for (const [status, codes] of Object.entries(list)) {
      const kept = (codes ?? []).filter((code): code is string => typeof code === 'string');
      if (kept.length === 0) continue;
      const set = byStatus.get(Number(status)) ?? new Set<string>();
      for (const code of kept) set.add(code);
      byStatus.set(Number(status), set);
    }
  }
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, set] of [...byStatus].sort(([a], [b]) => a - b)) {
    const codes = [...set].sort();
    responses[`${status}` as `4${string}`] = {
      description: `${reasons[status] ?? 'Error'}: ${codes.map((code) => `\`${code}\``).join(', ')}`,
      ...(headerNotes[status] ? { headers: headerNotes[status] } : {}),
      content: { 'application/json': { schema: errorBody(codes) } },
    };
  }
  return responses;
}
