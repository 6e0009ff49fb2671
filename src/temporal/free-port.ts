import { createServer } from 'node:net';

// Ports on loopback: a free one now (bound for a moment, then let go: whoever binds it next may
// lose a race, and should try again), or whether a fixed one is free. Used for the embedded dev
// server and the SDK's metrics when given port 0, by the local cluster, and by tests and benchmarks.

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
