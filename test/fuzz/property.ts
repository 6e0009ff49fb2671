import fc from 'fast-check';
import { fuzzRequest, type FuzzRequest } from './arbitraries';
import { mcpBreaches } from './mcp-contract';
import type { Part, PoolName } from './parts';
import { send, type Answer, type Call } from './send';

// The property: whatever a client sends, the API answers below 500, every error is
// {"error": {"code", "message"}} (on /mcp: that or JSON-RPC, mcp-contract.ts), nothing is logged as a failed request (a stream that broke after
// its headers), nothing is thrown outside a request, and /healthz still answers afterwards.

export interface FuzzTarget {
  urls: Record<FuzzRequest['target'], URL>;
  pools: Record<PoolName, string[]>;
  /** What the API logged as failed requests and what escaped as uncaught errors, in order. */
  problems: string[];
  /** How many answers of each status and error code (or event stream) came back: what was reached. */
  seen: Map<string, number>;
}

const resolvePart = (part: Part, pools: FuzzTarget['pools']) => {
  if (typeof part === 'string') return part;
  if ('repeat' in part) return part.prefix + part.repeat.repeat(part.times);
  return pools[part.pool][part.index % pools[part.pool].length] ?? '';
};
const resolve = (parts: readonly Part[], pools: FuzzTarget['pools']) => parts.map((part) => resolvePart(part, pools)).join('');

export function toCall(request: FuzzRequest, pools: FuzzTarget['pools']): Call {
  const query = request.query.map(([name, value]) => `${name}=${resolve(value, pools)}`).join('&');
  const headers = Object.fromEntries(request.headers.map(([name, value]) => [name, resolve(value, pools)]));
  const body = Array.isArray(request.body) ? resolve(request.body, pools) : (request.body as string | Uint8Array | undefined);
  return { method: request.method, path: resolve(request.path, pools) + (query ? `?${query}` : ''), headers, ...(body !== undefined ? { body } : {}) };
}

const shorten = (text: string, length = 300) => (text.length > length ? `${text.slice(0, length)}… (${text.length} characters)` : text);

export function describeCall(call: Call): string {
  const body = call.body === undefined ? '' : ` body ${shorten(typeof call.body === 'string' ? JSON.stringify(call.body) : `bytes ${Buffer.from(call.body).toString('hex')}`)}`;
  return `${call.method} ${shorten(call.path, 200)} headers ${shorten(JSON.stringify(call.headers))}${body}`;
}

/** Why an answer breaks the contract (empty: it keeps it). */
export function contractBreaches(call: Call, answer: Answer): string[] {
  const breaches: string[] = [];
  if (answer.status >= 500) breaches.push(`status ${answer.status}: ${shorten(answer.body)}`);
  if (answer.status < 100) breaches.push(`no status (${answer.status})`);
  if (call.path.startsWith('/mcp')) return [...breaches, ...mcpBreaches(call.method, answer)];
  if (answer.status >= 400 && call.method !== 'HEAD') {
    let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      // reported below
    }
    if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) breaches.push(`status ${answer.status} of type ${answer.headers['content-type']}`);
    if (typeof parsed?.error?.code !== 'string' || typeof parsed.error.message !== 'string') breaches.push(`status ${answer.status}, not {"error": {"code", "message"}}: ${shorten(answer.body)}`);
  }
  return breaches;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function checkRequest(target: FuzzTarget, request: FuzzRequest): Promise<void> {
  const call = toCall(request, target.pools);
  const url = target.urls[request.target];
  const before = target.problems.length;
  const breaches: string[] = [];
  try {
    const answer = await send(url, call);
    breaches.push(...contractBreaches(call, answer));
    const kind = `${answer.status} ${answer.streamed ? 'stream' : (/"code":"([^"]{1,60})"/.exec(answer.body)?.[1] ?? '')}`.trim();
    target.seen.set(kind, (target.seen.get(kind) ?? 0) + 1);
    // The server learns that a dropped stream's client went away a moment later.
    if (answer.streamed) await pause(30);
  } catch (error) {
    breaches.push(`no answer: ${(error as Error).message}`);
  }
  breaches.push(...target.problems.slice(before));
  const health = await send(url, { method: 'GET', path: '/healthz', headers: {} }).catch((error: Error) => ({ status: 0, body: error.message }));
  if (health.status !== 200) breaches.push(`/healthz then answered ${health.status}: ${shorten(health.body)}`);
  if (breaches.length > 0) throw new Error(`${request.target} API, ${describeCall(call)}:\n  ${breaches.join('\n  ')}`);
}

export interface FuzzOptions {
  numRuns: number;
  seed: number;
  /** A counterexample's path, to replay just it (fast-check prints it with the seed). */
  path?: string;
  /** Stop generating after this long (a failure found so far is still reported). */
  timeLimitMs?: number;
}

export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<void> {
  const details = await fc.check(
    fc.asyncProperty(fuzzRequest, (request) => checkRequest(target, request)),
    {
      numRuns: options.numRuns,
      seed: options.seed,
      ...(options.path ? { path: options.path } : {}),
      ...(options.timeLimitMs ? { interruptAfterTimeLimit: options.timeLimitMs } : {}),
    },
  );
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`${fc.defaultReportMessage(details)}\n\nThe shrunk request failed with:\n${cause}`);
}
