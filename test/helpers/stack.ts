import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import { startModelServer, type ModelServer, type Responder } from '../../src/demo-model/server';
import { startStack, type Stack, type StackOptions } from '../../src/stack';

export interface TestStack extends Stack {
  model: ModelServer;
  taskQueue: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The real worker and API (port 0) on a unique task queue, against a scripted model over HTTP. */
export async function startTestStack(
  environment: TestWorkflowEnvironment,
  responder: Responder,
  overrides: Partial<StackOptions> & { apiKey?: string; modelSettings?: Partial<StackOptions['model']> } = {},
): Promise<TestStack> {
  const model = await startModelServer(responder);
  const config = loadConfig({});
  const taskQueue = `test-${randomUUID()}`;
  const stack = await startStack({
    client: environment.client,
    // As npm start does: runs start eagerly on this process's worker.
    eagerClient: new Client({ connection: environment.nativeConnection, namespace: environment.namespace ?? 'default' }),
    nativeConnection: environment.nativeConnection,
    namespace: environment.namespace ?? 'default',
    taskQueue,
    model: { ...config.model, baseURL: model.baseURL, apiKey: overrides.apiKey, name: 'scripted', useDemo: false, ...overrides.modelSettings },
    limits: config.limits,
    toolSettings: config.tools,
    temporalUiUrl: 'http://localhost:8233',
    ...overrides,
  });
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const { status, body: parsed } = await callApi(stack.url, method, path, undefined, body, headers);
    return { status, body: parsed };
  };
  return {
    ...stack,
    model,
    taskQueue,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path) => request('GET', path),
    async close() {
      await stack.stop();
      await model.close();
    },
  };
}

/** One API call with an optional key: status, headers and the body (parsed when it is JSON). */
export async function callApi(baseUrl: string, method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // kept as text: the assertion shows it
  }
  return { status: response.status, headers: response.headers, body: json };
}
