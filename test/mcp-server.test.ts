import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { sha256 } from '../src/api/auth/api-keys';
import { isMcpWrite } from '../src/api/mcp/mcp-router';
import { resolveAccess } from '../src/api/auth/access';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { loadConfig } from '../src/config';
import { textFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { deleteFileTool } from './helpers/delete-file-tool';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The MCP server at /mcp, driven by the real @modelcontextprotocol/sdk client over Streamable
// HTTP against a real stack: a run started by a tool call streams as progress notifications and
// ends as the tool's result; approvals are decided through MCP; keys, scopes and tenants hold.

const answer = 'Durable agents keep working while you look away: every step is recorded, so a crash loses nothing and the answer arrives in the end.';
/** Tool scripts (JSON input) as toolScript plays them; anything else: a slow answer, token by token. */
const responder: Responder = (request) => {
  const input = String(request.messages.findLast((message) => message.role === 'user')?.content ?? '');
  if (input.startsWith('{')) return toolScript(request);
  return { kind: 'stream', frames: textFrames(request.model, answer, { firstTokenDelayMs: 0, tokenDelayMs: 15 }) };
};

const acmeKey = 'acme-mcp-key-0123456789abcdef';
const globexKey = 'globex-mcp-key-0123456789abcdef';
const readerKey = 'acme-mcp-reader-0123456789abcdef';
const deleted: string[] = [];
let temporal: TestTemporal;
let stack: TestStack;
const clients: Client[] = [];

async function connect(key?: string): Promise<Client> {
  const client = new Client({ name: 'mcp-server-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`), { requestInit: { headers: key ? { authorization: `Bearer ${key}` } : {} } });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const textOf = (result: CallToolResult) => result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');

before(async () => {
  temporal = await startTemporal();
  const file = join(mkdtempSync(join(tmpdir(), 'mcp-keys-')), 'keys.json');
  writeFileSync(file, JSON.stringify([{ id: 'acme-reader', sha256: sha256(readerKey).toString('hex'), tenant: 'acme', scopes: ['runs:read'] }]));
  stack = await startTestStack(temporal, responder, {
    tools: new ToolRegistry([deleteFileTool(deleted), calculatorTool]),
    access: resolveAccess({ mode: 'auto', keysFile: file, keys: `acme:${acmeKey},globex:${globexKey}`, host: '127.0.0.1' }),
    stream: { quietRequeryMs: 200 },
  });
});

after(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await stack?.close();
  await temporal?.teardown();
});

describe('MCP at /mcp', () => {
  test('when a client lists the tools, then it gets start_run, get_run, list_runs and decide_approval with their schemas', async () => {
    const client = await connect(acmeKey);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['decide_approval', 'get_run', 'list_runs', 'start_run']);
    const start = tools.find((tool) => tool.name === 'start_run')!;
    assert.deepEqual(start.inputSchema.required, ['input']);
    for (const field of ['input', 'model', 'maxSteps', 'tools', 'wait']) assert.ok(start.inputSchema.properties?.[field], field);
    assert.deepEqual((start.inputSchema.properties!.tools as { items: { enum: string[] } }).items.enum, ['delete_file', 'calculator'], 'the registry\'s tools, as in POST /v1/runs');
    const decide = tools.find((tool) => tool.name === 'decide_approval')!;
    assert.deepEqual([...(decide.inputSchema.required ?? [])].sort(), ['approve', 'callId', 'runId']);
  });

  test('when start_run is called, then progress notifications carry the text as it streams, and the result is the run\'s output', async () => {
    const client = await connect(acmeKey);
    const progress: Progress[] = [];
    let resolved = false;
    let progressAfterResult = 0;
    const result = (await client.callTool({ name: 'start_run', arguments: { input: 'tell me about durable agents' } }, undefined, {
      onprogress: (update) => {
        if (resolved) progressAfterResult++;
        progress.push(update);
      },
    })) as CallToolResult;
    resolved = true;
    assert.equal(result.isError, undefined, textOf(result));
    const { runId } = result.structuredContent as { runId: string };
    const run = await callApi(stack.url, 'GET', `/v1/runs/${runId}`, acmeKey);
    assert.equal(run.body.status, 'completed');
    assert.equal(textOf(result), run.body.output, 'the result is the run\'s transcript');
    assert.equal(textOf(result), answer);
    assert.ok(progress.length >= 3, `progress notifications: ${progress.length}`);
    for (let index = 1; index < progress.length; index++) assert.ok(progress[index]!.progress > progress[index - 1]!.progress, 'progress increases');
    const partial = progress.find((update) => update.message && update.message !== answer && answer.startsWith(update.message));
    assert.ok(partial, `a notification carries part of the text: ${progress.map((update) => update.message).join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(progressAfterResult, 0, 'every notification came before the result');
  });

  test('when a tool call needs approval, then progress names it, decide_approval approves it, and the run completes', async () => {
    const client = await connect(acmeKey);
    const reviewer = await connect(acmeKey);
    let deciding: Promise<CallToolResult> | undefined;
    const result = (await client.callTool({ name: 'start_run', arguments: { input: toolCallScriptInput(['delete_file', { path: 'mcp.txt' }]) } }, undefined, {
      onprogress: (update) => {
        const match = /decide_approval with runId "([^"]+)" and callId "([^"]+)"/.exec(update.message ?? '');
        if (match && !deciding) {
          assert.deepEqual(deleted.includes('mcp.txt'), false, 'nothing ran before the decision');
          deciding = reviewer.callTool({ name: 'decide_approval', arguments: { runId: match[1], callId: match[2], approve: true, reason: 'fine' } }) as Promise<CallToolResult>;
        }
      },
    })) as CallToolResult;
    assert.ok(deciding, 'progress named the call waiting for approval');
    const decided = await deciding;
    assert.deepEqual(decided.structuredContent, { runId: (result.structuredContent as { runId: string }).runId, callId: 'call_0', decision: 'approved' });
    assert.equal(textOf(result), 'results: deleted mcp.txt');
    assert.ok(deleted.includes('mcp.txt'));
  });

  test('when start_run is called with wait: false, then it returns the run id at once and get_run reads the run', async () => {
    const client = await connect(acmeKey);
    const started = (await client.callTool({ name: 'start_run', arguments: { input: 'tell me more', wait: false } })) as CallToolResult;
    const { runId, status } = started.structuredContent as { runId: string; status: string };
    assert.equal(status, 'running');
    let run: Record<string, unknown> = {};
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
      run = (await client.callTool({ name: 'get_run', arguments: { runId } })).structuredContent as Record<string, unknown>;
      if (run.status === 'completed') break;
    }
    assert.equal(run.status, 'completed');
    assert.equal(run.output, answer);
    assert.deepEqual(run.pendingApprovals, []);
    const listed = (await client.callTool({ name: 'list_runs', arguments: { limit: 100 } })).structuredContent as { runs: Array<{ runId: string }> };
    assert.ok(Array.isArray(listed.runs));
    const other = (await (await connect(globexKey)).callTool({ name: 'get_run', arguments: { runId } })) as CallToolResult;
    assert.equal(other.isError, true);
    assert.equal((other.structuredContent as { error: { code: string } }).error.code, 'run_not_found', 'another tenant\'s run does not exist');
  });

  test('when the run fails, then the result is a tool error with the run\'s error code', async () => {
    const client = await connect(acmeKey);
    const result = (await client.callTool({ name: 'start_run', arguments: { input: toolCallScriptInput(['calculator', { expression: '1+1' }]), maxSteps: 1 } })) as CallToolResult;
    assert.equal(result.isError, true);
    const structured = result.structuredContent as { runId: string; status: string; error: { code: string } };
    assert.equal(structured.status, 'failed');
    assert.equal(structured.error.code, 'max_steps_exceeded');
    assert.equal((await callApi(stack.url, 'GET', `/v1/runs/${structured.runId}`, acmeKey)).body.error.code, 'max_steps_exceeded');
  });

  test('when the client cancels start_run, then only the watching stops: the run goes on to its end', async () => {
    const client = await connect(acmeKey);
    const abort = new AbortController();
    let runId: string | undefined;
    const call = client.callTool({ name: 'start_run', arguments: { input: 'a long answer please' } }, undefined, {
      signal: abort.signal,
      onprogress: (update) => {
        runId ??= (update as { _meta?: { runId?: string } })._meta?.runId;
        if (runId) abort.abort();
      },
    });
    await assert.rejects(call);
    assert.ok(runId, 'progress named the run');
    const run = await temporal.client.workflow.getHandle(runId).result();
    assert.equal((run as { status: string }).status, 'completed');
    assert.equal((await callApi(stack.url, 'GET', `/v1/runs/${runId}`, acmeKey)).body.output, answer);
  });

  test('when tool calls are counted as writes, then only start_run and decide_approval count', () => {
    assert.equal(isMcpWrite({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'start_run', arguments: {} } }), true);
    assert.equal(isMcpWrite([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'decide_approval' } }]), true);
    assert.equal(isMcpWrite({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_run' } }), false);
    assert.equal(isMcpWrite({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), false);
    assert.equal(isMcpWrite(undefined), false);
  });

  test('when a tenant already follows MAX_STREAMS_PER_TENANT runs, then another waiting start_run is refused before it starts anything', async () => {
    const capped = await startTestStack(temporal, responder, {
      access: resolveAccess({ mode: 'auto', keys: `acme:${acmeKey}`, host: '127.0.0.1' }),
      limits: { ...loadConfig({}).limits, maxStreamsPerTenant: 1 },
    });
    try {
      const connectTo = async () => {
        const client = new Client({ name: 'mcp-cap-test', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(`${capped.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${acmeKey}` } } }));
        clients.push(client);
        return client;
      };
      const first = await connectTo();
      let following!: () => void;
      const followed = new Promise<void>((resolve) => (following = resolve));
      const running = first.callTool({ name: 'start_run', arguments: { input: 'the first' } }, undefined, { onprogress: () => following() });
      await followed;
      const second = await connectTo();
      const refused = (await second.callTool({ name: 'start_run', arguments: { input: 'the second' } })) as CallToolResult;
      assert.equal((refused.structuredContent as { error: { code: string } }).error.code, 'too_many_streams');
      const notWaiting = (await second.callTool({ name: 'start_run', arguments: { input: 'the third', wait: false } })) as CallToolResult;
      assert.equal(notWaiting.isError, undefined, 'wait: false follows nothing');
      assert.equal(textOf((await running) as CallToolResult), answer);
      // Listed a moment later (visibility lags), by the input each run started with.
      let listed: { runs: Array<{ input?: string }> } = { runs: [] };
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && !listed.runs.some((run) => run.input === 'the third'); await new Promise((resolve) => setTimeout(resolve, 200))) {
        listed = (await second.callTool({ name: 'list_runs', arguments: { limit: 100 } })).structuredContent as typeof listed;
      }
      assert.ok(listed.runs.some((run) => run.input === 'the first') && listed.runs.some((run) => run.input === 'the third'), 'the list shows the runs that started');
      assert.ok(!listed.runs.some((run) => run.input === 'the second'), 'the refused call started no run');
    } finally {
      await capped.close();
    }
  });

  test('when a key lacks runs:write, then start_run is refused with insufficient_scope and nothing starts; reads still work', async () => {
    const client = await connect(readerKey);
    const refused = (await client.callTool({ name: 'start_run', arguments: { input: 'hi' } })) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.equal((refused.structuredContent as { error: { code: string } }).error.code, 'insufficient_scope');
    assert.match(textOf(refused), /runs:write/);
    const denied = (await client.callTool({ name: 'decide_approval', arguments: { runId: 'run_x', callId: 'call_0', approve: true } })) as CallToolResult;
    assert.equal((denied.structuredContent as { error: { code: string } }).error.code, 'insufficient_scope');
    const read = (await client.callTool({ name: 'get_run', arguments: { runId: 'run_nope' } })) as CallToolResult;
    assert.equal((read.structuredContent as { error: { code: string } }).error.code, 'run_not_found');
  });

  test('when invalid arguments are sent, then the tool refuses them as POST /v1/runs would', async () => {
    const client = await connect(acmeKey);
    const unknownTool = (await client.callTool({ name: 'start_run', arguments: { input: 'hi', tools: ['no_such_tool'] } })) as CallToolResult;
    assert.equal(unknownTool.isError, true);
    assert.match(textOf(unknownTool), /unknown tool/);
    const extra = (await client.callTool({ name: 'start_run', arguments: { input: 'hi', extra: 1 } })) as CallToolResult;
    assert.equal(extra.isError, true);
  });

  test('when list_runs gets a cursor the API never gave, then it is a tool error, as GET /v1/runs answers 400 (found by the fuzzer: one with no signature threw)', async () => {
    const client = await connect(acmeKey);
    const unsigned = (await client.callTool({ name: 'list_runs', arguments: { cursor: 'not-ours' } })) as CallToolResult;
    assert.equal(unsigned.isError, true);
    assert.match(textOf(unsigned), /cursor is not one this API gave/);
    const forged = (await client.callTool({ name: 'list_runs', arguments: { cursor: `${Buffer.from('{"CloseTime":"2020-01-01"}').toString('base64url')}.${'A'.repeat(43)}` } })) as CallToolResult;
    assert.equal((forged.structuredContent as { error: { code: string } }).error.code, 'invalid_cursor');
  });

  test('when no key or a wrong key is sent, then /mcp answers 401 and the client cannot connect', async () => {
    await assert.rejects(connect(), /401|nauthorized/);
    await assert.rejects(connect('not-a-key-0123456789abcdef'), /401|nauthorized/);
    const raw = await fetch(`${stack.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.equal(raw.status, 401);
    assert.match(raw.headers.get('www-authenticate') ?? '', /Bearer/);
  });

  test('when /mcp is read with GET, then it answers 405: the endpoint is stateless', async () => {
    const response = await callApi(stack.url, 'GET', '/mcp', acmeKey);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'POST');
    assert.equal(response.body.error.code, 'method_not_allowed');
  });
});
