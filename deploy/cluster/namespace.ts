import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';

// A fresh cluster has no namespace: the cluster registers its own (what the dev server and the
// auto-setup image do by themselves), then waits until every node's frontend knows it (each node
// caches namespaces and refreshes them every few seconds).

const retentionSeconds = 7 * 24 * 3600;
// gRPC status codes.
const notFound = 5;
const alreadyExists = 6;

/** Until the frontend at `address` answers (the node has joined the ring and opened its database). */
export async function waitForFrontend(address: string, timeoutMs: number, running: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!running()) throw new Error(`the Temporal node at ${address} exited; its last output:\n${output().slice(-3000)}`);
    const connection = await Connection.connect({ address, connectTimeout: '2s' }).catch((error: Error) => {
      last = error.message;
      return undefined;
    });
    if (connection) {
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } catch (error) {
        last = (error as Error).message;
      } finally {
        await connection.close();
      }
    }
    if (Date.now() > deadline) throw new Error(`the Temporal node at ${address} did not answer within ${timeoutMs} ms (${last}); its last output:\n${output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function ensureNamespace(frontends: string[], namespace: string, log: (line: string) => void): Promise<void> {
  const connection = await Connection.connect({ address: frontends[0]! });
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (error) {
      if ((error as { code?: number }).code !== notFound) throw error;
      await connection.workflowService
        .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(retentionSeconds * 1000), description: 'durable-agents runs' })
        .catch((registerError: { code?: number }) => {
          // Registered meanwhile by someone else: fine.
          if (registerError.code !== alreadyExists) throw registerError;
        });
      log(`temporal: registered namespace "${namespace}" (retention ${retentionSeconds / 86400} days)`);
    }
  } finally {
    await connection.close();
  }
  for (const address of frontends) {
    const deadline = Date.now() + 60_000;
    const node = await Connection.connect({ address });
    try {
      for (;;) {
        const known = await node.workflowService.describeNamespace({ namespace }).then(
          () => true,
          () => false,
        );
        if (known) break;
        if (Date.now() > deadline) throw new Error(`the Temporal node at ${address} does not know namespace "${namespace}" after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await node.close();
    }
  }
}
