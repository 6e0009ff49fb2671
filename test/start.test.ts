import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSse } from './helpers/sse';
import { freePort } from '../src/temporal/free-port';

// `npm start` as a user runs it: a child process with the embedded Temporal on a SQLite file.

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  api: string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
after(() => children.forEach((child) => child.kill('SIGKILL')));

async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const api = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /API: +(http:\/\/\S+)/.exec(output);
      if (match && output.includes('Ctrl-C')) resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, api, exited };
}

test('when a user runs npm start, then a run streams with a tool call, survives a restart, and Ctrl-C leaves nothing behind', async () => {
  const temporalPort = await freePort();
  const uiPort = await freePort();
  const env = {
    PORT: '0',
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'durable-agents-start-')),
    DEMO_MODEL_FIRST_TOKEN_DELAY_MS: '10',
    DEMO_MODEL_TOKEN_DELAY_MS: '5',
  };
  const first = await start(env);
  assert.match(first.output(), /using the built-in demo model/);
  assert.match(first.output(), new RegExp(`Temporal UI: http://localhost:${uiPort}/namespaces/default/workflows`));
  assert.match(first.output(), /curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/runs/);

  const created = await fetch(`${first.api}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'What is 6*7?' }),
  });
  assert.equal(created.status, 202);
  const { runId, links } = (await created.json()) as { runId: string; links: { temporalUi: string } };
  const { events } = await readSse(`${first.api}/v1/runs/${runId}/events`);
  assert.ok(events.some((event) => event.event === 'tool.completed' && event.data.result === '42'));
  assert.ok(events.filter((event) => event.event === 'text.delta').length > 3);
  assert.equal(events.at(-1)!.data.output, 'I used the calculator: 6*7 = 42.');
  const ui = await fetch(links.temporalUi);
  assert.equal(ui.status, 200, 'the Web UI serves the deep link');

  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  assert.equal(await portOpen(temporalPort), false, 'the dev server stopped with npm start');

  const second = await start(env);
  const run = await fetch(`${second.api}/v1/runs/${runId}`);
  assert.equal(run.status, 200);
  const body = (await run.json()) as { status: string; output: string };
  assert.equal(body.status, 'completed');
  assert.equal(body.output, 'I used the calculator: 6*7 = 42.');
  second.child.kill('SIGINT');
  assert.equal(await second.exited, 0);
  assert.equal(await portOpen(temporalPort), false);
});
