import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectTranscript, createClient, RunTranscript, type DurableAgentsClient } from '../src/client';
import { ensureConsoleBuilt } from '../src/api/console-assets';
import { textFrames } from '../src/demo-model/chunks';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { launchBrowser, openPage, screenshotPath, type OpenedPage } from './helpers/browser';
import { freePort } from '../src/temporal/free-port';
import { startChild, workerRunningActivity, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The console is never lost: the page of a run keeps exactly the run's text through a worker
// killed with SIGKILL mid-answer (the step is retried: the page drops the partial text and says
// so), an API process killed and started again, and the browser's network dropping. Real
// processes: an API (keys on) and two workers, as deployed apart (npm run api / npm run worker).

const key = `console-crash-key-${randomBytes(12).toString('hex')}`;
const text = (prefix: string) => Array.from({ length: 120 }, (_, index) => `${prefix}${index}`).join(' ');
const answers = { crash: text('c'), restart: text('r'), offline: text('o') };

let temporal: TestTemporal;
let model: ModelServer;
let api: Child;
let apiPort: number;
let apiUrl: string;
let apiEnv: Record<string, string>;
let workers: Child[] = [];
let workerStreams: string[] = [];
let browser: Browser;
let client: DurableAgentsClient;
const opened: OpenedPage[] = [];

before(async () => {
  const [environment] = await Promise.all([startTemporal(), ensureConsoleBuilt()]);
  temporal = environment;
  model = await startModelServer((request) => {
    const first = (request.messages.find((message) => message.role === 'user')?.content ?? '') as keyof typeof answers;
    return { kind: 'stream', frames: textFrames(request.model, answers[first] ?? 'unknown', { firstTokenDelayMs: 20, tokenDelayMs: 50 }) };
  });
  const common = { TEMPORAL_ADDRESS: temporal.address, RELAY_SECRET: randomBytes(32).toString('hex'), OPENAI_BASE_URL: model.baseURL, TASK_QUEUE: `console-crash-${randomUUID()}` };
  workers = [0, 1].map(() => startChild('src/worker.ts', { ...common, STREAM_PORT: '0' }));
  apiPort = await freePort();
  apiEnv = { ...common, PORT: String(apiPort), API_KEYS: `acme:${key}`, STREAM_TOKEN_SECRET: randomBytes(32).toString('hex') };
  api = startChild('src/api/server.ts', apiEnv);
  workerStreams = await Promise.all(workers.map(async (worker) => (await worker.waitFor(/live streams at (http:\/\/\S+)/))[1]!));
  apiUrl = (await api.waitFor(/API: (http:\/\/\S+?)[ ;]/))[1]!;
  client = createClient({ baseUrl: apiUrl, apiKey: key });
  browser = await launchBrowser();
});

after(async () => {
  for (const page of opened) await page.close().catch(() => undefined);
  await browser?.close();
  await Promise.all([api, ...workers].map((child) => child?.stop()));
  await model?.close();
  await temporal?.teardown();
});

async function runPage(input: keyof typeof answers): Promise<{ runId: string; page: Page; opened: OpenedPage }> {
  const { runId } = await client.createRun({ input });
  const page = await openPage(browser, `${apiUrl}/runs/${runId}`, { allowedStatuses: [401] });
  opened.push(page);
  await page.page.getByLabel('Key', { exact: true }).fill(key);
  await page.page.getByRole('button', { name: 'Use this key' }).click();
  await page.page.getByTestId('run-status').waitFor();
  page.problems.length = 0;
  return { runId, page: page.page, opened: page };
}

const pageText = (page: Page) => page.locator('[data-testid="step-text"]').evaluateAll((nodes) => nodes.map((node) => node.firstChild?.textContent ?? '').join(''));
/** Only problems the page did not cause itself (requests it abandoned) or the test caused on purpose. */
const problemsOf = (page: OpenedPage, expected: RegExp) => page.problems.filter((problem) => !/net::ERR_ABORTED$/.test(problem.message) && !expected.test(problem.message));

describe('the web console through crashes', { concurrency: false }, () => {
  test('when the worker streaming the answer is killed with SIGKILL, then the page shows the retry, drops the partial text, and ends with exactly the transcript', async () => {
    const { runId, page, opened: tab } = await runPage('crash');
    await page.locator('[data-testid="step-text"]').filter({ hasText: 'c10 c11' }).waitFor();
    (await workerRunningActivity(temporal.client, runId, workers, workerStreams)).process.kill('SIGKILL');
    await page.getByTestId('retry-note').waitFor({ timeout: 90_000 });
    assert.match((await page.getByTestId('retry-note').textContent()) ?? '', /discarded/);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 120_000 });
    assert.equal(await pageText(page), answers.crash);
    assert.equal(await pageText(page), (await collectTranscript(client.streamRun(runId))).text);
    assert.match((await page.locator('.step.llm .badge.retry').textContent()) ?? '', /attempt 2/);
    await page.screenshot({ path: screenshotPath('console-retry.png'), fullPage: true });
    assert.deepEqual(problemsOf(tab, /$^/), []);
  });

  test('when the API process is killed and started again mid-answer, then the page reconnects by itself and shows exactly the transcript', async () => {
    const { runId, page, opened: tab } = await runPage('restart');
    await page.locator('[data-testid="step-text"]').filter({ hasText: 'r10 r11' }).waitFor();
    api.process.kill('SIGKILL');
    await api.exited;
    api = startChild('src/api/server.ts', apiEnv);
    await api.waitFor(/API: http/);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 120_000 });
    assert.equal(await pageText(page), answers.restart);
    assert.equal(await pageText(page), (await collectTranscript(client.streamRun(runId))).text);
    // While the API was down, the stream's reconnects were refused: that is the outage, not a page fault.
    assert.deepEqual(problemsOf(tab, /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_NETWORK_CHANGED|ERR_INCOMPLETE_CHUNKED_ENCODING/), []);
  });

  test('when the browser loses the network mid-answer and gets it back, then the page shows exactly the transcript', async () => {
    const { runId, page, opened: tab } = await runPage('offline');
    await page.locator('[data-testid="step-text"]').filter({ hasText: 'o10 o11' }).waitFor();
    await tab.context.setOffline(true);
    // Offline while the run goes on without the page: until the answer is well past what it shows.
    const transcript = new RunTranscript();
    for await (const event of client.streamRun(runId)) if (transcript.add(event).text.includes('o40')) break;
    await tab.context.setOffline(false);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 120_000 });
    assert.equal(await pageText(page), answers.offline);
    assert.equal(await pageText(page), (await collectTranscript(client.streamRun(runId))).text);
    assert.deepEqual(problemsOf(tab, /ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ERR_NETWORK_IO_SUSPENDED|ERR_FAILED/), []);
  });
});
