import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseBody } from './http-body';

// A raw HTTP client that reads an SSE stream at a set byte rate, so that the server meets
// backpressure: its socket stays paused and is read in small pieces on a timer (Node then reads
// the kernel only up to the socket's small buffer), or not at all until `startWhen`.
//
// Over loopback TCP the kernel takes megabytes per connection before Node sees any of it (its
// send buffer grows to tcp_wmem's maximum, 4 MB, for loopback's 64 KB segments), more than a
// test streams. A Unix socket has one buffer of about 200 KB, so `viaUnixSocket` hands the
// connections of a local socket to the same HTTP server.

export interface SlowFrame {
  id: string;
  event: string;
  data: any;
  at: number;
}

export interface SlowRead {
  frames: SlowFrame[];
  /** The stream's body bytes as they arrived: [time, total bytes so far], once per read. */
  progress: Array<[number, number]>;
  /** The stream ended without a run end (cut off, or stopped by the signal). */
  ended: boolean;
}

export interface SlowReadOptions {
  bytesPerSecond: number;
  socketPath?: string;
  headers?: Record<string, string>;
  /** Read nothing until this settles (a reader that stopped, then came back). */
  startWhen?: Promise<unknown>;
  /** Stop reading and resolve with what arrived so far. */
  signal?: AbortSignal;
}

const tickMs = 20;
const runEnd = /^run\.(completed|failed|cancelled)$/;

export function readSlowly(url: string, options: SlowReadOptions): Promise<SlowRead> {
  const target = new URL(url);
  const socket = options.socketPath ? connect(options.socketPath) : connect(Number(target.port), target.hostname);
  // Paused before it connects, a socket reads nothing from the kernel until read() asks.
  socket.pause();
  const headers = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${headers}Connection: close\r\n\r\n`);
  const frames: SlowFrame[] = [];
  const progress: Array<[number, number]> = [];
  const body = new ResponseBody();
  const decoder = new TextDecoder();
  let buffer = '';
  let bytes = 0;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      socket.destroy();
      resolve({ frames, progress, ended });
    };
    const parse = () => {
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
        }
        if (fields.event === undefined) continue;
        frames.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? 'null'), at: Date.now() });
        if (runEnd.test(fields.event)) return finish(false);
      }
      if (body.finished) finish(true);
    };
    let reading = options.startWhen === undefined;
    void options.startWhen?.finally(() => (reading = true));
    const perTick = Math.max(1, Math.round((options.bytesPerSecond * tickMs) / 1000));
    const timer = setInterval(() => {
      if (!reading) return;
      // read(n) gives null until n bytes are buffered; then take the fewer there are.
      const piece = (socket.read(perTick) ?? socket.read()) as Buffer | null;
      if (!piece) return;
      bytes += piece.length;
      progress.push([Date.now(), bytes]);
      for (const part of body.push(piece)) buffer += decoder.decode(part, { stream: true });
      if (body.status !== undefined && body.status !== 200) return reject(new Error(`status ${body.status}`));
      parse();
    }, tickMs);
    socket.on('close', () => {
      // What is still buffered is read first, at the same pace.
      const check = setInterval(() => {
        if (socket.readableLength > 0 && !done) return;
        clearInterval(check);
        finish(true);
      }, tickMs);
    });
    socket.on('error', (error) => (frames.length === 0 ? reject(error) : finish(true)));
    options.signal?.addEventListener('abort', () => finish(true), { once: true });
  });
}

export interface UnixEntrance {
  socketPath: string;
  /** The server's ends of the connections, newest last (their writableLength is Node's buffer). */
  sockets: Socket[];
  close(): Promise<void>;
}

/** A Unix socket whose connections the HTTP server serves as its own. */
export async function viaUnixSocket(server: { emit(event: 'connection', socket: unknown): boolean }): Promise<UnixEntrance> {
  const socketPath = join(tmpdir(), `sse-slow-${process.pid}-${Math.random().toString(36).slice(2)}.sock`);
  const sockets: Socket[] = [];
  const local: Server = createServer((socket) => {
    sockets.push(socket);
    server.emit('connection', socket);
  });
  await new Promise<void>((resolve) => local.listen(socketPath, resolve));
  return { socketPath, sockets, close: () => new Promise((resolve) => local.close(() => resolve())) };
}
