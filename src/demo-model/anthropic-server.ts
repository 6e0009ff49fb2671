import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { preciseNow, readJson, sendJson, sleep } from './server';

// A small Anthropic Messages API server driven by a script, the peer of server.ts for the other
// wire format: POST /v1/messages answered with real SSE (`event: <type>` + `data: <json>`), or
// with a JSON body and any status. Tests write the scripts (anthropic-frames.ts builds frames);
// a script that runs out or breaks fails loudly with a 500.

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  system?: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<{ type: string; [key: string]: unknown }> }>;
  tools?: Array<{ name: string; description?: string; input_schema: unknown }>;
  stream?: boolean;
  [key: string]: unknown;
}

export type AnthropicFrame =
  /** Sent as `event: <event>` and `data: <json>`. */
  | { event: string; data: unknown }
  /** Sent verbatim: comments, malformed lines, odd framing. */
  | { raw: string }
  | { delayMs: number };

export type AnthropicReply = { kind: 'stream'; frames: AnthropicFrame[] } | { kind: 'json'; status?: number; body: unknown };

export type AnthropicResponder = (request: AnthropicRequest, index: number) => AnthropicReply | Promise<AnthropicReply>;

export interface AnthropicRecordedRequest {
  body: AnthropicRequest;
  headers: Record<string, string | string[] | undefined>;
  receivedAt: number;
  /** The client went away before the response was complete. */
  aborted?: boolean;
  /** When each event frame was written (performance.timeOrigin + performance.now(), in ms). */
  eventTimes: number[];
}

export interface AnthropicServer {
  /** Base URL for the Anthropic SDK (it adds /v1/messages). */
  baseURL: string;
  requests: AnthropicRecordedRequest[];
  close(): Promise<void>;
}

async function writeStream(response: ServerResponse, frames: AnthropicFrame[], closed: AbortSignal, eventTimes: number[]) {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  response.flushHeaders();
  for (const frame of frames) {
    if (closed.aborted) return;
    if ('delayMs' in frame) await sleep(frame.delayMs, closed);
    else if ('raw' in frame) response.write(frame.raw);
    else {
      response.write(`event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`);
      eventTimes.push(preciseNow());
    }
  }
  if (!closed.aborted) response.end();
}

export async function startAnthropicServer(responder: AnthropicResponder, port = 0, host = '127.0.0.1'): Promise<AnthropicServer> {
  const requests: AnthropicRecordedRequest[] = [];
  const server: Server = createServer(async (request, response) => {
    const closed = new AbortController();
    response.on('close', () => closed.abort());
    try {
      const path = (request.url ?? '').split('?')[0];
      if (request.method !== 'POST' || path !== '/v1/messages') {
        return sendJson(response, 404, { type: 'error', error: { type: 'not_found_error', message: `no route ${request.method} ${path}` } });
      }
      const body = (await readJson(request)) as AnthropicRequest;
      const record: AnthropicRecordedRequest = { body, headers: request.headers, receivedAt: Date.now(), eventTimes: [] };
      requests.push(record);
      response.on('close', () => (record.aborted = !response.writableFinished));
      const reply = await responder(body, requests.length - 1);
      if (reply.kind === 'json') sendJson(response, reply.status ?? 200, reply.body);
      else await writeStream(response, reply.frames, closed.signal, record.eventTimes);
    } catch (error) {
      if (!response.headersSent) sendJson(response, 500, { type: 'error', error: { type: 'api_error', message: `model script error: ${(error as Error).message}` } });
      else response.destroy(error as Error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    baseURL: `http://${host}:${bound}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
