import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A small OpenAI-compatible Chat Completions server driven by a script (a responder function).
// The built-in demo model is one script; tests write their own. It speaks real HTTP and real SSE,
// so the official `openai` client is exercised exactly as against a provider.

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown } }>;
  [key: string]: unknown;
}

export type Frame =
  /** Sent as `data: <json>`. */
  | { chunk: unknown }
  /** Sent verbatim: comments, malformed lines, odd framing. */
  | { raw: string }
  | { delayMs: number };

export type Reply =
  | { kind: 'stream'; frames: Frame[]; done?: boolean }
  | { kind: 'json'; status?: number; body: unknown };

export type Responder = (request: ChatRequest, index: number) => Reply | Promise<Reply>;

export interface RecordedRequest {
  body: ChatRequest;
  authorization?: string;
  receivedAt: number;
  /** When the response was fully written (Date.now()), or undefined while it is running. */
  completedAt?: number;
  /** The client went away before the response was complete. */
  aborted?: boolean;
  abortedAt?: number;
  /** When each `chunk` frame was written (performance.timeOrigin + performance.now(), in ms). */
  chunkTimes: number[];
}

export interface ModelServer {
  url: string;
  /** Base URL for the openai client (`.../v1`). */
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Waits `ms`, or less if the client goes away; leaves no listener behind either way. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

export function sendJson(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const preciseNow = () => performance.timeOrigin + performance.now();

async function writeStream(response: ServerResponse, reply: Extract<Reply, { kind: 'stream' }>, closed: AbortSignal, chunkTimes: number[]) {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  response.flushHeaders();
  for (const frame of reply.frames) {
    if (closed.aborted) return;
    if ('delayMs' in frame) await sleep(frame.delayMs, closed);
    else if ('raw' in frame) response.write(frame.raw);
    else {
      response.write(`data: ${JSON.stringify(frame.chunk)}\n\n`);
      chunkTimes.push(preciseNow());
    }
  }
  if (closed.aborted) return;
  if (reply.done !== false) response.write('data: [DONE]\n\n');
  response.end();
}

export async function startModelServer(responder: Responder, port = 0, host = '127.0.0.1'): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (request, response) => {
    const closed = new AbortController();
    response.on('close', () => closed.abort());
    try {
      const path = (request.url ?? '').split('?')[0];
      if (request.method === 'GET' && path === '/v1/models') {
        return sendJson(response, 200, { object: 'list', data: [{ id: 'demo', object: 'model', owned_by: 'durable-agents' }] });
      }
      if (request.method !== 'POST' || path !== '/v1/chat/completions') {
        return sendJson(response, 404, { error: { message: `no route ${request.method} ${path}`, type: 'not_found' } });
      }
      const body = (await readJson(request)) as ChatRequest;
      const index = requests.length;
      const record: RecordedRequest = { body, authorization: request.headers.authorization, receivedAt: Date.now(), chunkTimes: [] };
      requests.push(record);
      response.on('finish', () => (record.completedAt = Date.now()));
      response.on('close', () => {
        record.aborted = !response.writableFinished;
        if (record.aborted) record.abortedAt = Date.now();
      });
      const reply = await responder(body, index);
      if (reply.kind === 'json') sendJson(response, reply.status ?? 200, reply.body);
      else await writeStream(response, reply, closed.signal, record.chunkTimes);
    } catch (error) {
      // A script that runs out or breaks must fail loudly, not hang the client.
      if (!response.headersSent) {
        sendJson(response, 500, { error: { message: `model script error: ${(error as Error).message}`, type: 'server_error' } });
      } else {
        response.destroy(error as Error);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
