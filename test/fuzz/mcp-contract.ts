import type { Answer } from './send';

// What /mcp answers keep, instead of the REST routes' {"error": {"code", "message"}} for every
// error (README, "MCP: /mcp"; MCP's Streamable HTTP transport): an HTTP error is JSON, either the
// API's error (a missing key, a body too large, 405 for GET and DELETE) or a JSON-RPC error (the
// transport's: not acceptable, not JSON-RPC); a 2xx carries JSON-RPC messages, as JSON or as SSE
// events. Refusals of a tool are tool results with isError and structuredContent.error.code; the
// SDK answers arguments its schema refuses, and unknown tools, as isError "MCP error -32602: …".
// A JSON-RPC internal error (-32603), or any other tool error, is a handler that threw: MCP's 500.
// Except one the SDK makes of a client's mistake: params its schema refuses (tools/call with none)
// come back as -32603 carrying zod's issues (modelcontextprotocol/typescript-sdk#2284, open).

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const shorten = (text: string, length = 300) => (text.length > length ? `${text.slice(0, length)}… (${text.length} characters)` : text);

const isApiError = (body: unknown) => isObject(body) && isObject(body.error) && typeof body.error.code === 'string' && typeof body.error.message === 'string';
const isJsonRpcError = (body: unknown) => isObject(body) && body.jsonrpc === '2.0' && isObject(body.error) && Number.isInteger(body.error.code) && typeof body.error.message === 'string';

/** The SDK's -32603 for params that fail its schema: the message is zod's list of issues. */
function isRefusedParams(message: string): boolean {
  try {
    const issues: unknown = JSON.parse(message);
    return Array.isArray(issues) && issues.length > 0 && issues.every((issue) => isObject(issue) && typeof issue.code === 'string' && Array.isArray(issue.path));
  } catch {
    return false;
  }
}
const isInternalError = (body: unknown) => isJsonRpcError(body) && (body as { error: Json }).error.code === -32603 && !isRefusedParams(String((body as { error: Json }).error.message));

/** Why one JSON-RPC message from the server breaks the contract. */
function messageBreaches(message: unknown): string[] {
  if (!isObject(message) || message.jsonrpc !== '2.0') return [`not a JSON-RPC 2.0 message: ${shorten(JSON.stringify(message))}`];
  if ('error' in message) {
    if (!isJsonRpcError(message)) return [`a malformed JSON-RPC error: ${shorten(JSON.stringify(message))}`];
    if (isInternalError(message)) return [`a JSON-RPC internal error: ${shorten(JSON.stringify(message))}`];
    return [];
  }
  const result = message.result;
  if (!isObject(result) || result.isError !== true) return [];
  if (isApiError(result.structuredContent)) return [];
  const text = Array.isArray(result.content) && isObject(result.content[0]) ? String(result.content[0].text) : '';
  if (text.startsWith('MCP error -32602:')) return [];
  return [`a tool threw: ${shorten(JSON.stringify(result))}`];
}

/** The JSON-RPC messages of a 2xx answer: its JSON, or the data of each whole SSE event (a stream dropped early ends mid-event). */
function messagesOf(answer: Answer): unknown[] {
  if (answer.body === '') return [];
  if (!answer.streamed) return [JSON.parse(answer.body)].flat();
  const events = answer.body.split(/\r?\n\r?\n/).slice(0, -1);
  return events.flatMap((event) => {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    return data.length > 0 ? [JSON.parse(data.join('\n'))].flat() : [];
  });
}

/** Why an answer of /mcp breaches its contract; status above 499 and no status are checked by the caller. */
export function mcpBreaches(method: string, answer: Answer): string[] {
  if (method === 'HEAD' || answer.status >= 500) return [];
  const type = answer.headers['content-type'] ?? '';
  if (answer.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      // reported below
    }
    if (!/^application\/json/.test(type)) return [`status ${answer.status} of type ${type}`];
    if (isInternalError(body)) return [`status ${answer.status}, a JSON-RPC internal error: ${shorten(answer.body)}`];
    return isApiError(body) || isJsonRpcError(body) ? [] : [`status ${answer.status}, neither {"error": {"code", "message"}} nor a JSON-RPC error: ${shorten(answer.body)}`];
  }
  if (answer.body !== '' && !/^(application\/json|text\/event-stream)/.test(type)) return [`status ${answer.status} of type ${type}`];
  try {
    return messagesOf(answer).flatMap(messageBreaches);
  } catch (error) {
    return [`status ${answer.status}, not JSON-RPC (${(error as Error).message}): ${shorten(answer.body)}`];
  }
}
