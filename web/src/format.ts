import type { Cost } from '../../src/client';

// How numbers read in the console.

export function tokens(count: number): string {
  return count < 10_000 ? String(count) : `${(count / 1000).toFixed(count < 100_000 ? 1 : 0)}k`;
}

export function cost(value: Cost | undefined): string {
  if (!value) return '—';
  return value.total < 0.01 ? `$${value.total.toFixed(4)}` : `$${value.total.toFixed(2)}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function age(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  // A clock a little behind the server's reads a fresh run as starting in the future.
  if (!(ms >= 1000)) return 'just now';
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${Math.round(ms / 86_400_000)} d ago`;
}

/** Pretty JSON when it is JSON, the text as it is otherwise. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
