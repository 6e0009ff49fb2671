import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

// Raw HTTP for the fuzzer: fetch would normalize the path ("..", "%2e") and refuse some headers,
// node:http sends them as they are. Every request is time-boxed, and an event stream that answers
// is read for a moment and then dropped, as a client that goes away would.

export interface Call {
  method: string;
  /** Path and query string, sent as they are. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** An event stream, read for `streamMs` and then dropped. */
  streamed: boolean;
}

export interface SendLimits {
  /** Until the whole answer (the headers of a stream) is in. */
  timeoutMs: number;
  streamMs: number;
  maxBytes: number;
}

export const defaultLimits: SendLimits = { timeoutMs: 5000, streamMs: 250, maxBytes: 1024 * 1024 };

export function send(base: URL, call: Call, limits: SendLimits = defaultLimits): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let streamTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(streamTimer);
      outgoing.destroy();
      outcome();
    };
    // Node frames no body of a GET (or DELETE, OPTIONS, HEAD) unless told its length.
    const length = call.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(call.body)) };
    const headers = { ...call.headers, ...length };
    const outgoing = httpRequest({ host: base.hostname, port: base.port, method: call.method, path: call.path, headers, agent: false }, (response) => {
      const streamed = /^text\/event-stream/.test(response.headers['content-type'] ?? '');
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'), streamed }));
      if (streamed) streamTimer = setTimeout(done, limits.streamMs);
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= limits.maxBytes) done();
      });
      response.on('end', done);
      response.on('error', (error) => settle(() => reject(error)));
    });
    const timer = setTimeout(() => settle(() => reject(new Error(`no complete answer within ${limits.timeoutMs} ms`))), limits.timeoutMs);
    outgoing.on('error', (error) => settle(() => reject(error)));
    outgoing.end(call.body);
  });
}
