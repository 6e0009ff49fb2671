import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findTemporalCli } from '../src/temporal/cli';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';
import { assembleText, readSse } from './helpers/sse';
import { startStackOnDevServer } from './helpers/dev-server-stack';
import { installQuietRuntime } from './helpers/temporal';
import { freePort } from '../src/temporal/free-port';

// The embedded dev server on its SQLite file is stopped and started again in the middle of a run.

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('when Temporal restarts in the middle of a run, then the run finishes and the worker, the API and the client carry on', async () => {
  installQuietRuntime();
  const cli = await findTemporalCli();
  const options = { cli, dataDir: mkdtempSync(join(tmpdir(), 'temporal-restart-')), port: await freePort(), uiPort: await freePort(), namespace: 'default', log: () => undefined };
  let server: DevServer = await startDevServer(options);
  cleanups.push(() => server.stop());
  const text = Array.from({ length: 150 }, (_, index) => `r${index}`).join(' ');
  const started = await startStackOnDevServer(server, 'restart', text, { firstTokenDelayMs: 20, tokenDelayMs: 40 });
  cleanups.push(...started.cleanups);
  const { stack } = started;

  const created = await fetch(`${stack.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'go', tools: [] }) });
  const { runId } = (await created.json()) as { runId: string };
  let restart: Promise<void> | undefined;
  const { events, broken } = await readSse(`${stack.url}/v1/runs/${runId}/events`, {
    until: (event, all) => {
      if (!restart && event.event === 'text.delta' && all.filter((e) => e.event === 'text.delta').length === 10) {
        restart = (async () => {
          await server.stop();
          server = await startDevServer(options);
        })();
      }
      return false;
    },
  });
  await restart;
  assert.equal(broken, undefined, 'the client stream stayed open through the restart');
  assert.equal(events.at(-1)!.event, 'run.completed');
  assert.equal([...assembleText(events).values()].join(''), text);
  assert.equal(events.at(-1)!.data.output, text);
  const run = (await (await fetch(`${stack.url}/v1/runs/${runId}`)).json()) as { status: string };
  assert.equal(run.status, 'completed');
});
