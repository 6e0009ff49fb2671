import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config';
import { metricsContentType, metricsExposition } from './http-metrics';
import type { Metrics } from './metrics';

// A worker's own /metrics (`npm run worker`; `npm start` serves them on the API): GET /metrics on
// METRICS_HOST:METRICS_PORT, nothing else. On loopback it is open, as Prometheus' exporters are;
// anywhere else it needs METRICS_TOKEN as a bearer token, so figures across every tenant are not
// served to whoever reaches the port.

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);
const digest = (text: string) => createHash('sha256').update(text).digest();

export async function startMetricsServer(options: { metrics: Metrics; temporalMetricsUrl?: string; host: string; port: number; token?: string }): Promise<MetricsServer> {
  if (!options.token && !isLoopback(options.host)) {
    throw new ConfigError(`Invalid configuration:\n  METRICS_HOST: ${options.host} is not loopback: set METRICS_TOKEN (Prometheus sends it as its bearer token), or METRICS=off`);
  }
  const expected = options.token ? digest(options.token) : undefined;
  const send = (response: import('node:http').ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error: { code, message } }));
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') return send(response, 404, 'not_found', 'only GET /metrics is served here');
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'method_not_allowed', 'GET /metrics', { allow: 'GET, HEAD' });
    if (expected) {
      const presented = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        return send(response, 401, 'unauthorized', 'send METRICS_TOKEN as a bearer token', { 'www-authenticate': 'Bearer realm="metrics"' });
      }
    }
    metricsExposition(options.metrics, options.temporalMetricsUrl).then(
      (text) => response.writeHead(200, { 'content-type': metricsContentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : text),
      (error: Error) => send(response, 500, 'metrics_failed', error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
