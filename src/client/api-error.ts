// Every error the API answers is {"error": {"code", "message"}}; the client turns it into an
// ApiError, so callers branch on `code` (run_not_found, approval_not_pending, …), not on text.

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From Retry-After (429, 503): how long the API asks the caller to wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Retry-After in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The ApiError of a response that is not ok (its body is read). */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let code = `http_${response.status}`;
  let message = text.slice(0, 500) || `${response.status} ${response.statusText}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not the API's JSON (a proxy's page, say): the status and the text say what happened.
  }
  return new ApiError(response.status, code, message, parseRetryAfter(response.headers.get('retry-after')));
}
