import { apiErrorOf } from './api-error';

// The transport every call shares: base URL, the key, the caller's fetch, JSON in and out.

export interface ClientOptions {
  /** Where the API is, e.g. `http://127.0.0.1:3000` (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Sent with every request (a proxy's own header, say). */
  headers?: Record<string, string>;
  /** Defaults to the global fetch (Node 18+, browsers). */
  fetch?: typeof fetch;
}

export class Transport {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Called unbound, window.fetch throws "Illegal invocation": look it up at call time.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get hasApiKey(): boolean {
    return this.options.apiKey !== undefined;
  }

  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
    const text = search.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ''}`;
  }

  /** Headers of a request; `withKey: false` leaves the key out (a stream token authenticates it). */
  headers(extra: Record<string, string> = {}, withKey = true): Record<string, string> {
    return {
      ...this.options.headers,
      ...(withKey && this.options.apiKey !== undefined ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      ...extra,
    };
  }

  fetch(url: string, init: RequestInit): Promise<Response> {
    return this.fetchImpl(url, init);
  }

  /** A JSON call; an answer that is not 2xx throws ApiError. */
  async json<T>(method: 'GET' | 'POST', path: string, options: { body?: unknown; query?: Record<string, string | number | undefined>; signal?: AbortSignal } = {}): Promise<T> {
    const init: RequestInit = {
      method,
      headers: this.headers({ accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }),
      // Every POST of the API takes JSON only; an empty body is sent as {}.
      ...(method === 'POST' ? { body: JSON.stringify(options.body ?? {}) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const response = await this.fetch(this.url(path, options.query), init);
    if (!response.ok) throw await apiErrorOf(response);
    return (await response.json()) as T;
  }
}

export const segment = (id: string) => encodeURIComponent(id);
