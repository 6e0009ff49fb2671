import { ToolOverloadedError } from './registry';

// HTTP's way of saying "too much": 429 and 503, with an optional Retry-After. For http_get and for
// custom tools that call HTTP backends.

/** Longest Retry-After honoured: a backend asking for an hour gets the call's own retry policy. */
const maxRetryAfterMs = 60_000;

/** Retry-After (seconds, or an HTTP date) in ms; undefined when absent, unreadable or too long. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms > maxRetryAfterMs) return undefined;
  return Math.max(0, ms);
}

/** A ToolOverloadedError for an overloaded answer (429, 503), else undefined. */
export function overloadOf(status: number, retryAfter: string | string[] | undefined, host: string): ToolOverloadedError | undefined {
  if (status !== 429 && status !== 503) return undefined;
  const delay = retryAfterMs(retryAfter);
  const reason = status === 429 ? 'Too Many Requests' : 'Service Unavailable';
  return new ToolOverloadedError(`${host} answered ${status} ${reason}${delay !== undefined ? `; retry after ${Math.ceil(delay / 1000)} s` : ''}`, delay);
}
