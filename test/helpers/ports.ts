import { createServer, type AddressInfo } from 'node:net';

/** A port free right now on 127.0.0.1 (for servers that must be given one, like Temporal's). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
