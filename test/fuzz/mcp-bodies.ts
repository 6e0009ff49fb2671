import fc from 'fast-check';
import { approvalBody, runBody, wrongValue } from './bodies';
import { cursor, fromPool, jsonParts, junkText, long, type Part } from './parts';

// JSON-RPC bodies for POST /mcp: the handshake, tools/list, tools/call of each tool with real run
// ids, call ids and list cursors (start_run mostly with wait: false, so a call ends at once),
// notifications, methods the server lacks, malformed messages and batches.

const requestId = fc.oneof({ weight: 8, arbitrary: fc.nat(1000) }, fc.constantFrom('a', '', null, -1, 1.5, {}, [], true));
const runId = fc.oneof({ weight: 4, arbitrary: fromPool('run') }, fromPool('session'), junkText, long('run_'));
const callId = fc.oneof({ weight: 3, arbitrary: fromPool('callId') }, junkText);
const listStatus = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('running', 'completed', 'failed', 'cancelled') }, fc.constantFrom('queued', 'RUNNING', ''));

const toolNames = ['start_run', 'get_run', 'list_runs', 'decide_approval'] as const;
const toolArguments: Record<(typeof toolNames)[number], fc.Arbitrary<Record<string, unknown>>> = {
  start_run: fc.tuple(runBody, fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, fc.constantFrom(true, undefined, 'no'))).map(([body, wait]) => ({ ...body, wait })),
  get_run: fc.record({ runId }),
  list_runs: fc.record({ status: listStatus, limit: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(0, 101, 1.5, '5')), cursor }, { requiredKeys: [] }),
  decide_approval: fc.tuple(approvalBody, runId, callId).map(([decision, run, call]) => ({ ...decision, runId: run, callId: call })),
};
const toolName = fc.constantFrom(...toolNames);

/** A tool's arguments, another tool's, or the same with a field of the wrong kind. */
const callParams: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 6, arbitrary: toolName.chain((name) => toolArguments[name].map((args) => ({ name, arguments: args }))) },
  fc.tuple(toolName, toolName).chain(([name, other]) => toolArguments[other].map((args) => ({ name, arguments: args }))),
  fc
    .tuple(toolName, fc.constantFrom('runId', 'input', 'wait', 'limit', 'cursor', 'approve', 'extra'), wrongValue)
    .chain(([name, field, value]) => toolArguments[name].map((args) => ({ name, arguments: { ...args, [field]: value } }))),
  fc.record({ name: fc.oneof(fc.constantFrom('unknown_tool', '', 'START_RUN'), junkText), arguments: fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: ['name'] }),
);
/** A progress token asks start_run for notifications/progress while it waits. */
const progressToken = fc.option(fc.oneof(fc.nat(100), fc.string({ maxLength: 8 })), { nil: undefined });
const withProgressToken = fc.tuple(callParams, progressToken).map(([params, token]) => (token === undefined ? params : { ...params, _meta: { progressToken: token } }));

const protocolVersion = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('2025-06-18', '2025-03-26', '2024-11-05') }, fc.constantFrom('1999-01-01', '', 'latest'));
const initializeParams = fc.record({ protocolVersion, capabilities: fc.constant({}), clientInfo: fc.constant({ name: 'fuzz', version: '1.0.0' }) }, { requiredKeys: [] });

const request = (method: string, params: fc.Arbitrary<unknown>) => fc.record({ jsonrpc: fc.constant('2.0'), id: requestId, method: fc.constant(method), params }, { requiredKeys: ['jsonrpc', 'id', 'method'] });
const notification = (method: string, params: fc.Arbitrary<unknown>) => fc.record({ jsonrpc: fc.constant('2.0'), method: fc.constant(method), params }, { requiredKeys: ['jsonrpc', 'method'] });

const message: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 2, arbitrary: request('initialize', initializeParams) },
  { weight: 2, arbitrary: request('tools/list', fc.oneof(fc.constant({}), fc.record({ cursor: junkText }))) },
  { weight: 8, arbitrary: request('tools/call', withProgressToken) },
  notification('notifications/initialized', fc.constant({})),
  notification('notifications/cancelled', fc.record({ requestId, reason: fc.constant('fuzz') }, { requiredKeys: ['requestId'] })),
  request('ping', fc.constant({})),
  fc.constantFrom('resources/list', 'prompts/list', 'logging/setLevel', 'completion/complete', 'tasks/list', 'x/y', '').chain((method) => request(method, fc.constant({}))),
);

/** Messages that are not JSON-RPC requests: wrong version, wrong field types, responses sent to the server. */
const malformed = fc.oneof(
  message.map(({ jsonrpc: _jsonrpc, ...rest }) => rest),
  fc.tuple(message, fc.constantFrom('jsonrpc', 'method', 'params', 'id'), wrongValue).map(([chosen, field, value]) => ({ ...chosen, [field]: value })),
  fc.constantFrom({ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x' } }, { jsonrpc: '1.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 1, method: 'tools/call' }),
);

export const mcpBody: fc.Arbitrary<readonly Part[]> = fc
  .oneof(
    { weight: 8, arbitrary: message },
    { weight: 2, arbitrary: malformed },
    { weight: 2, arbitrary: fc.array(fc.oneof(message, malformed), { maxLength: 4 }) },
  )
  .map(jsonParts);
