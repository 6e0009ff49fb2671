import { ApiError } from '../client';

// Exit codes: 0 the run completed (or a command did its job), 1 it failed or was cancelled, or the
// API refused, 2 a usage error, 130 detached with Ctrl-C (the run goes on).

export const exitCodes = { ok: 0, failed: 1, usage: 2, detached: 130 } as const;

/** A usage error found after parsing (a bad flag value): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The API's code and message, or what went wrong on the way to it; the exit code to end with. */
export function describeError(error: unknown, url: string): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: `error: ${error.message}`, exitCode: exitCodes.usage };
  if (error instanceof ApiError) return { message: `error: ${error.code}: ${error.message}`, exitCode: exitCodes.failed };
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { message: `error: cannot reach the API at ${url}: ${cause?.code ?? cause?.message ?? error.message}`, exitCode: exitCodes.failed };
  }
  return { message: `error: ${error instanceof Error ? error.message : String(error)}`, exitCode: exitCodes.failed };
}
