import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MemoryRelay } from './memory-relay';
import { RelayKeys, relayHeaders } from './relay-auth';

// A worker's stream endpoint: `GET /runs/<runId>/events` answers with the run's live events on
// this worker (those still buffered, then each as it is published) as NDJSON, one StreamEvent a
// line, with the worker's proof for the run and the request in a header (relay-auth.ts). `POST /runs/<runId>/cancel`,
// with the same proof, is an API saying the run was cancelled: its steps here stop at once. APIs find it through the address
// in activity heartbeats and the worker's identity, and must prove they know the relay secret,
// for this address, without sending it. With a certificate (RELAY_TLS_CERT_FILE and _KEY_FILE) it
// serves HTTPS and advertises https://, so the events are private on the wire as well.

export interface RelayServerOptions {
  relay: MemoryRelay;
  secret: string;
  host: string;
  port: number;
  /** The URL to advertise (containers, proxies); default http(s)://host:port. */
  advertiseUrl?: string;
  /** PEM certificate (chain) and key: serve HTTPS. Checked by loadConfig; never logged. */
  tls?: { cert: string; key: string };
  keepAliveMs?: number;
}

export interface RelayServer {
  url: string;
  close(): Promise<void>;
}

export async function startRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  // APIs reach the address as advertised: an http:// one would skip the certificate altogether.
  if (options.tls && options.advertiseUrl && !/^https:\/\//i.test(options.advertiseUrl)) throw new Error('a relay server with TLS must advertise an https:// address');
  const keys = new RelayKeys(options.secret);
  let url = '';
  // A proof is good once: a captured request cannot be replayed while its time is still valid.
  const usedNonces = new Map<string, number>();
  const handle: RequestListener<typeof IncomingMessage, typeof ServerResponse> = (request, response) => {
    const match = /^\/runs\/([A-Za-z0-9_.:-]{1,200})\/(events|cancel)$/.exec(request.url ?? '');
    const action = match?.[2];
    if (!match || (action === 'events' && request.method !== 'GET') || (action === 'cancel' && request.method !== 'POST')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such stream' } }));
      return;
    }
    const runId = match[1]!;
    const header = (name: string) => (typeof request.headers[name] === 'string' ? (request.headers[name] as string) : undefined);
    const auth = { nonce: header(relayHeaders.nonce), time: header(relayHeaders.time), proof: header(relayHeaders.proof) };
    const now = Date.now();
    for (const [nonce, at] of usedNonces) if (now - at > 2 * 60_000) usedNonces.delete(nonce);
    if (!keys.verifyRequest(url, runId, auth, now) || usedNonces.has(auth.nonce!)) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'unauthorized', message: 'no valid relay proof for this address' } }));
      return;
    }
    usedNonces.set(auth.nonce!, now);
    if (action === 'cancel') {
      // An API that accepted the run's cancel (Temporal has recorded it): stop its steps here now.
      request.resume();
      options.relay.cancelRun(runId);
      response.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    // An API that asks for plain lines gets this worker's proof once; older APIs, a signature per line.
    const plain = header(relayHeaders.lines) === 'plain';
    response.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-cache',
      ...(plain ? { [relayHeaders.streamProof]: keys.streamProof(runId, auth.nonce!) } : {}),
    });
    response.flushHeaders();
    const subscription = options.relay.subscribe(runId);
    const keepAlive = setInterval(() => response.write('\n'), options.keepAliveMs ?? 15_000);
    response.on('close', () => {
      clearInterval(keepAlive);
      subscription.close();
    });
    // The events waiting when the subscription says so, in one write; then wait for the next.
    const send = () => {
      if (response.destroyed) return;
      let lines = '';
      for (const event of subscription.drain()) lines += `${plain ? JSON.stringify(event) : keys.signLine(runId, auth.nonce!, event)}\n`;
      response.write(lines);
      setImmediate(() => subscription.onReady(send));
    };
    subscription.onReady(send);
  };
  const server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const scheme = options.tls ? 'https' : 'http';
  url = (options.advertiseUrl ?? `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  options.relay.address = url;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
