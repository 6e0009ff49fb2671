import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Certificates } from './certificates';
import { ensureDebianPackage } from '../../deploy/debian';
import { freePort } from '../../src/temporal/free-port';

// Debian's nginx as a TLS terminator in front of a Temporal dev server, as Temporal sits behind a
// load balancer in production: gRPC (HTTP/2) over TLS in, plain gRPC to the server out. Two
// endpoints: one requires a client certificate signed by the test CA (mTLS), the other an API key
// in the authorization header (as Temporal Cloud takes one).

export interface TlsProxy {
  /** host:port requiring a client certificate. */
  mtlsAddress: string;
  /** host:port requiring `authorization: Bearer <apiKey>`, no client certificate. */
  apiKeyAddress: string;
  /** Requests nginx passed on (its access log). */
  accessLog(): string;
  stop(): Promise<void>;
}

export async function startTlsProxy(options: { upstream: string; certificates: Certificates; apiKey: string; directory: string }): Promise<TlsProxy> {
  ensureDebianPackage('nginx');
  const { certificates, directory } = options;
  mkdirSync(join(directory, 'temp'), { recursive: true });
  const [mtlsPort, apiKeyPort] = [await freePort(), await freePort()];
  const grpc = `
      grpc_pass grpc://${options.upstream};
      # Workers long-poll for a minute at a time.
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;`;
  const config = `
daemon off;
master_process off;
pid ${join(directory, 'nginx.pid')};
error_log ${join(directory, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log ${join(directory, 'access.log')};
  client_body_temp_path ${join(directory, 'temp', 'body')};
  proxy_temp_path ${join(directory, 'temp', 'proxy')};
  fastcgi_temp_path ${join(directory, 'temp', 'fastcgi')};
  uwsgi_temp_path ${join(directory, 'temp', 'uwsgi')};
  scgi_temp_path ${join(directory, 'temp', 'scgi')};
  client_max_body_size 0;
  ssl_certificate ${certificates.serverCert};
  ssl_certificate_key ${certificates.serverKey};
  map $http_authorization $api_key_ok { "Bearer ${options.apiKey}" 1; default 0; }
  server {
    listen 127.0.0.1:${mtlsPort} ssl http2;
    ssl_client_certificate ${certificates.caCert};
    ssl_verify_client on;
    location / {${grpc}
    }
  }
  server {
    listen 127.0.0.1:${apiKeyPort} ssl http2;
    location / {
      if ($api_key_ok = 0) { return 401; }${grpc}
    }
  }
}
`;
  const configPath = join(directory, 'nginx.conf');
  writeFileSync(configPath, config);
  const errorLog = join(directory, 'error.log');
  const nginx = spawn('nginx', ['-p', directory, '-c', configPath, '-e', errorLog], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  // Also when the test process dies without running its after hooks.
  const kill = () => nginx.kill('SIGKILL');
  process.once('exit', kill);
  const readLog = (file: string) => {
    try {
      return readFileSync(join(directory, file), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    process.off('exit', kill);
    if (nginx.exitCode === null && nginx.signalCode === null) {
      nginx.kill('SIGTERM');
      const timer = setTimeout(() => nginx.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await Promise.all([mtlsPort, apiKeyPort].map((port) => waitForPort(port, () => nginx.exitCode !== null || nginx.signalCode !== null)));
  } catch (error) {
    await stop();
    throw new Error(`nginx did not start: ${(error as Error).message}\n${stderr}${readLog('error.log')}`);
  }
  return {
    mtlsAddress: `127.0.0.1:${mtlsPort}`,
    apiKeyAddress: `127.0.0.1:${apiKeyPort}`,
    accessLog: () => readLog('access.log'),
    stop,
  };
}

async function waitForPort(port: number, gone: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) throw new Error('nginx exited');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} not open within ${timeoutMs} ms`);
}
