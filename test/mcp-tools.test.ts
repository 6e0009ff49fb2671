import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { connectMcpServers, loadMcpConfig, type McpTools } from '../src/activities/tools/mcp';
import { ToolRegistry } from '../src/activities/tools/registry';
import { startHttpMcpServer } from './fixtures/mcp-server';
import { readSse } from './helpers/sse';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal } from './helpers/temporal';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';

// MCP servers over stdio (a child process) and Streamable HTTP, through the whole stack.

let environment: TestWorkflowEnvironment;
let stack: TestStack;
let mcp: McpTools;
let http: { url: string; close(): Promise<void> };

before(async () => {
  environment = await startTemporal();
  http = await startHttpMcpServer();
  const configFile = join(mkdtempSync(join(tmpdir(), 'mcp-')), 'mcp.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      servers: {
        local: { command: process.execPath, args: ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'mcp-server.ts')] },
        remote: { url: http.url },
      },
    }),
  );
  mcp = await connectMcpServers(loadMcpConfig(configFile));
  stack = await startTestStack(environment, toolScript, { tools: new ToolRegistry([calculatorTool, ...mcp.tools]) });
});

after(async () => {
  await stack?.close();
  await mcp?.close();
  await http?.close();
  await environment?.teardown();
});

async function run(input: string) {
  const started = await stack.post('/v1/runs', { input });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
  return { runId: started.body.runId as string, events, terminal: events.at(-1)! };
}

describe('MCP tools', () => {
  test('when MCP servers are configured, then their tools join the registry with their own schemas', () => {
    assert.deepEqual(mcp.tools.map((tool) => tool.name).sort(), ['local__broken', 'local__count', 'remote__broken', 'remote__count']);
    const registry = new ToolRegistry(mcp.tools);
    const spec = registry.specs(['local__count'])[0]!;
    assert.equal(spec.function.description, 'Counts to n, reporting progress at each number');
    assert.deepEqual((spec.function.parameters as { required: string[] }).required, ['n']);
    assert.equal(registry.policies(['local__count'])[0]!.maximumAttempts, 3, 'read-only tools are retried');
    assert.equal(registry.policies(['local__broken'])[0]!.maximumAttempts, 1, 'tools not known to be idempotent run once');
  });

  for (const server of ['local', 'remote']) {
    test(`when the model calls an MCP tool over ${server === 'local' ? 'stdio' : 'Streamable HTTP'}, then its progress notifications stream as tool.progress and its result reaches the model`, async () => {
      const { events, terminal } = await run(toolCallScriptInput([`${server}__count`, { n: 5 }]));
      const progress = events.filter((event) => event.event === 'tool.progress').map((event) => event.data.progress);
      assert.deepEqual(progress.map((update) => update.message), ['counted 1', 'counted 2', 'counted 3', 'counted 4', 'counted 5']);
      assert.equal(progress.at(-1)!.fraction, 1);
      assert.equal(terminal.data.output, 'results: counted to 5');
    });
  }

  test('when an MCP tool reports an error or gets bad arguments, then the model reads the error', async () => {
    const { events, terminal } = await run(toolCallScriptInput(['local__broken', {}], ['remote__count', { n: 'many' }]));
    const errors = events.filter((event) => event.event === 'tool.failed').map((event) => event.data.error);
    assert.equal(errors.length, 2);
    assert.ok(errors.some((error) => /the broken tool broke/.test(error)));
    assert.equal(terminal.event, 'run.completed');
  });

  test('when the MCP config is invalid, then loading says what is wrong', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp-bad-')), 'mcp.json');
    writeFileSync(file, JSON.stringify({ servers: { 'bad name!': { command: 'x' } } }));
    assert.throws(() => loadMcpConfig(file), /server names are/);
    writeFileSync(file, '{ not json');
    assert.throws(() => loadMcpConfig(file), /MCP_CONFIG .*mcp\.json/);
  });
});
