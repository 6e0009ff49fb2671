import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { checkAddress, type AddressPolicy } from './address-policy';
import { ToolInputError, type ToolContext, type ToolDefinition } from './registry';
import { overloadOf } from './retry-after';

// A real HTTP GET with limits on time and size, progress in bytes, and SSRF protection: the check
// (address-policy.ts: global unicast only, never this machine's own addresses) runs inside the
// socket's own DNS lookup, so the address checked is the address connected to, and again at
// every redirect.

export interface HttpGetOptions extends AddressPolicy {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  /** How long an answer is reused for an equal call of the same tenant (0: never); the server's Cache-Control may shorten it. */
  cacheTtlMs?: number;
}

/** How long the server lets the answer be kept: `no-store`, `no-cache` and `private` say not at all. */
export function cacheLifetimeMs(status: number, cacheControl: string | undefined): number {
  if (status >= 500 || status === 429) return 0;
  const directives = (cacheControl ?? '').toLowerCase();
  if (/(?:^|[\s,])(?:no-store|no-cache|private)(?:$|[\s,=])/.test(directives)) return 0;
  const maxAge = /(?:^|[\s,])max-age\s*=\s*"?(\d+)/.exec(directives);
  return maxAge ? Number(maxAge[1]) * 1000 : Number.POSITIVE_INFINITY;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  truncated: boolean;
  url: string;
}

/** Text a watcher can read as it arrives: text/*, JSON, XML, JavaScript, forms, or no type said. */
export function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type.startsWith('text/') || /[/+](?:json|xml|javascript|ecmascript|x-www-form-urlencoded|x-ndjson|yaml|csv)$/.test(type);
}

function checkedLookup(policy: AddressPolicy, host: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as LookupAddress[];
      for (const entry of list) {
        const refusal = checkAddress(policy, host, entry.address);
        if (refusal) return callback(Object.assign(new Error(refusal), { code: 'EREFUSED_ADDRESS' }), '', 0);
      }
      if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}

function getOnce(url: URL, options: HttpGetOptions, context: ToolContext): Promise<Response> {
  const client = url.protocol === 'https:' ? https : http;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Sockets skip the lookup for IP literals, so those are checked here.
  const literalRefusal = isIP(host) ? checkAddress(options, host, host) : undefined;
  if (literalRefusal) return Promise.reject(Object.assign(new Error(literalRefusal), { code: 'EREFUSED_ADDRESS' }));
  return new Promise((resolve, reject) => {
    const request = client.get(
      url,
      { lookup: checkedLookup(options, host), signal: context.signal, timeout: options.timeoutMs, headers: { 'user-agent': 'durable-agents/http_get' } },
      (response) => {
        const total = Number(response.headers['content-length']) || undefined;
        const parts: Buffer[] = [];
        let received = 0;
        let truncated = false;
        // The body's text streams to watchers as it arrives (tool.output.delta); not a redirect's.
        const redirect = (response.statusCode ?? 0) >= 300 && (response.statusCode ?? 0) < 400 && Boolean(response.headers.location);
        const decoder = !redirect && isTextual(response.headers['content-type']) ? new StringDecoder('utf8') : undefined;
        const stream = (bytes: Buffer) => {
          const text = decoder?.write(bytes);
          if (text) context.output(text);
        };
        response.on('data', (chunk: Buffer) => {
          const room = options.maxBytes - received;
          if (chunk.length > room) {
            parts.push(chunk.subarray(0, room));
            stream(chunk.subarray(0, room));
            received += room;
            truncated = true;
            response.destroy();
            finish();
            return;
          }
          parts.push(chunk);
          stream(chunk);
          received += chunk.length;
          context.progress({ message: `${received} bytes`, ...(total ? { fraction: Math.min(1, received / total) } : {}), data: { bytes: received } });
        });
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          const rest = decoder?.end();
          if (rest) context.output(rest);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString('utf8'), truncated, url: url.toString() });
        };
        response.on('end', finish);
        response.on('error', (error) => (truncated ? finish() : reject(error)));
      },
    );
    // ETIMEDOUT: the concurrency limiter counts it as a sign of overload.
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
  });
}

export function createHttpGetTool(options: HttpGetOptions): ToolDefinition<{ url: string }> {
  return {
    name: 'http_get',
    description: 'Fetches a public http(s) URL with GET and returns the status and the start of the body.',
    parameters: z.object({ url: z.string().min(1).max(4000).describe('An http:// or https:// URL') }),
    idempotent: true,
    timeoutMs: options.timeoutMs * 2 + 5000,
    ...(options.cacheTtlMs ? { cache: { ttlMs: options.cacheTtlMs } } : {}),
    // One adaptive limit per host: one slow site must not hold back calls to the others.
    concurrencyKey: ({ url }) => `http_get:${URL.canParse(url) ? new URL(url).host : '?'}`,
    async run({ url }, context) {
      let current: URL;
      try {
        current = new URL(url);
      } catch {
        throw new ToolInputError(`not a URL: ${url}`);
      }
      for (let redirects = 0; ; redirects++) {
        if (current.protocol !== 'http:' && current.protocol !== 'https:') {
          throw new ToolInputError(`refused: only http and https URLs, not ${current.protocol}`);
        }
        if (current.username || current.password) throw new ToolInputError('refused: URLs with credentials');
        let response: Response;
        try {
          response = await getOnce(current, options, context);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'EREFUSED_ADDRESS' || code === 'ENOTFOUND') throw new ToolInputError((error as Error).message);
          throw error;
        }
        const location = response.headers.location;
        if (response.status >= 300 && response.status < 400 && location) {
          if (redirects >= (options.maxRedirects ?? 5)) throw new ToolInputError(`too many redirects (last: ${current})`);
          current = new URL(location, current);
          continue;
        }
        const overloaded = overloadOf(response.status, response.headers['retry-after'], current.host);
        if (overloaded) throw overloaded;
        const cacheControl = response.headers['cache-control'];
        context.limitCache(cacheLifetimeMs(response.status, Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl));
        return {
          url: response.url,
          status: response.status,
          contentType: response.headers['content-type'] ?? null,
          body: response.body,
          truncated: response.truncated,
        };
      }
    },
  };
}
