import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { collectTranscript, createClient, type DurableAgentsClient } from '../src/client';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry } from '../src/activities/tools/registry';
import { textFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { runSummaryLine } from '../src/shared/run-list';
import { launchBrowser, openPage, screenshotPath } from './helpers/browser';
import { deleteFileTool } from './helpers/delete-file-tool';
import { freePort } from '../src/temporal/free-port';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The Temporal Web UI explains each run: the workflow's summary (the task) and details (model,
// tools, links to the run in the API and the console), each activity's summary
// (`model step 1: scripted`, `calculator: 2+2`), and the workflow's current details (what it does
// now). Read back through Temporal's API, and seen in the UI itself in Chromium.

const responder: Responder = (request) => {
  const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
  if (first.startsWith('{"calls"')) return toolScript(request);
  return { kind: 'stream', frames: textFrames(request.model, 'Hello there.', { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
};

let temporal: TestTemporal;
let uiUrl: string;
let stack: TestStack;
let client: DurableAgentsClient;
let browser: Browser | undefined;

before(async () => {
  const uiPort = await freePort();
  temporal = await startTemporal({ uiPort });
  uiUrl = `http://127.0.0.1:${uiPort}`;
  stack = await startTestStack(temporal, responder, { tools: new ToolRegistry([calculatorTool, deleteFileTool()]), temporalUiUrl: uiUrl });
  client = createClient({ baseUrl: stack.url });
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await temporal?.teardown();
});

/** Each activity's summary, in the order they were scheduled. */
async function activitySummaries(runId: string): Promise<string[]> {
  const history = await temporal.client.workflow.getHandle(runId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const data = event.activityTaskScheduledEventAttributes ? event.userMetadata?.summary?.data : undefined;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as string] : [];
  });
}

/** The first match in the page or any of its frames, waiting for it to appear. */
async function inAnyFrame(page: Page, find: (frame: Frame) => Locator, timeoutMs = 30_000): Promise<Locator> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await page.waitForTimeout(200)) {
    for (const frame of page.frames()) {
      const found = find(frame).first();
      if (await found.isVisible().catch(() => false)) return found;
    }
  }
  throw new Error(`not on the page within ${timeoutMs} ms: ${String(find(page.mainFrame()))}`);
}

/** What the workflow says it does now (the details the Web UI shows). */
async function currentDetails(runId: string): Promise<string> {
  const metadata = (await temporal.client.workflow.getHandle(runId).query('__temporal_workflow_metadata')) as { currentDetails?: string };
  return metadata.currentDetails ?? '';
}

const toolInput = toolCallScriptInput(['calculator', { expression: '2+2' }]);
let toolRunStarted: Promise<string> | undefined;
/** A finished run with one calculator call (started once, by whichever test needs it first). */
const toolRun = () =>
  (toolRunStarted ??= client.createRun({ input: toolInput, tools: ['calculator'], maxSteps: 5 }).then(async ({ runId }) => {
    await collectTranscript(client.streamRun(runId));
    return runId;
  }));

describe('the Temporal Web UI explains each run', () => {
  test('when a run with a tool call ends, then its summary is the task, its details name the model, tools and links, and each activity says what it is', async () => {
    const runId = await toolRun();
    const description = await temporal.client.workflow.getHandle(runId).describe();
    // The task as text: markdown's punctuation escaped, so a task cannot put links or markup in the UI.
    assert.equal(await description.staticSummary(), runSummaryLine(toolInput));
    assert.match((await description.staticSummary()) ?? '', /^\\\{"calls":\\\[/);
    const details = (await description.staticDetails()) ?? '';
    assert.match(details, /\*\*Model\*\* `scripted`/);
    assert.match(details, /\*\*tools\*\* calculator/);
    assert.match(details, /\*\*max steps\*\* 5/);
    assert.ok(details.includes(`[In the console](${stack.url}/runs/${runId})`), details);
    assert.ok(details.includes(`[In the API](${stack.url}/v1/runs/${runId})`), details);
    assert.deepEqual(await activitySummaries(runId), ['model step 1: scripted', 'calculator: 2+2', 'model step 3: scripted']);
    assert.match(await currentDetails(runId), /^Completed in 3 steps, \d+ tokens$/);
  });

  test('when the task and a call\'s arguments are long and not ASCII, then the summaries are cut to fit Temporal\'s limits and the run completes', async () => {
    const long = '漢字と"引用"\\'.repeat(60);
    const input = toolCallScriptInput(['calculator', { expression: `1+1 ${long}` }]);
    const { runId } = await client.createRun({ input, tools: ['calculator'] });
    const transcript = await collectTranscript(client.streamRun(runId));
    assert.equal(transcript.end?.event, 'run.completed');
    const summary = (await (await temporal.client.workflow.getHandle(runId).describe()).staticSummary()) ?? '';
    assert.ok(Buffer.byteLength(JSON.stringify(summary)) <= 200 && summary.endsWith('…'), summary);
    const tool = (await activitySummaries(runId)).find((line) => line.startsWith('calculator: '))!;
    assert.ok(Buffer.byteLength(JSON.stringify(tool)) <= 200 && tool.endsWith('…'), tool);
  });

  test('when a run waits for approval, then its current details say which call waits and until when, and then that it was decided', async () => {
    const { runId } = await client.createRun({ input: toolCallScriptInput(['delete_file', { path: 'old.log' }]), tools: ['delete_file'] });
    let waiting = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !waiting.includes('waiting for approval'); await new Promise((resolve) => setTimeout(resolve, 100))) {
      waiting = await currentDetails(runId).catch(() => '');
    }
    assert.match(waiting, /^\*\*Step 2\*\*: waiting for approval until \d{4}-\d\d-\d\dT[\d:.]+Z: delete_file: old\.log \(`call_0`\)/);
    const { pendingApprovals } = await client.getRun(runId);
    await client.decide(runId, pendingApprovals[0]!.callId, { approve: false, reason: 'keep it' });
    await collectTranscript(client.streamRun(runId));
    assert.match(await currentDetails(runId), /^Completed in \d+ steps/);
    assert.deepEqual((await activitySummaries(runId)).filter((summary) => !summary.startsWith('model step')), [], 'a denied call runs no activity');
  });

  test('when a session runs a turn, then the turn has the Web UI summary and the list shows its task and model', async () => {
    const { sessionId } = await client.createSession({});
    const sent = await client.sendMessage(sessionId, { input: 'Hello from a session turn' });
    await collectTranscript(client.streamRun(sent.runId));
    const description = await temporal.client.workflow.getHandle(sent.runId).describe();
    assert.equal(await description.staticSummary(), 'Hello from a session turn');
    assert.match((await description.staticDetails()) ?? '', /\*\*Model\*\* `scripted`/);
    let listed;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && !listed; await new Promise((resolve) => setTimeout(resolve, 200))) {
      listed = (await client.listRuns({ limit: 50 })).runs.find((run) => run.runId === sent.runId && run.input);
    }
    assert.equal(listed?.input, 'Hello from a session turn');
    assert.equal(listed?.model, 'scripted');
    assert.equal(listed?.sessionId, sessionId);
  });

  test('when the run is opened in the Web UI (Chromium), then its summary, details and activity summaries are on the page', async () => {
    const runId = await toolRun();
    browser = await launchBrowser();
    const { page, close } = await openPage(browser, `${uiUrl}/namespaces/default/workflows/${encodeURIComponent(runId)}`, { timeoutMs: 60_000, viewport: { width: 1400, height: 1500 } });
    try {
      await page.getByText('calculator: 2+2').first().waitFor({ timeout: 30_000 });
      await page.getByText('model step 1: scripted').first().waitFor();
      // The timeline: each activity by its summary.
      await page.getByText('model step 3: scripted').first().waitFor();
      // The User Metadata tab: the summary (the task), the details (Temporal markdown, rendered
      // in frames of their own), the activities' summaries and the current details.
      await page.getByRole('link', { name: /User Metadata/ }).or(page.getByRole('tab', { name: /User Metadata/ })).first().click();
      const link = await inAnyFrame(page, (frame) => frame.getByRole('link', { name: 'In the console' }));
      assert.equal(await link.getAttribute('href'), `${stack.url}/runs/${runId}`);
      await inAnyFrame(page, (frame) => frame.getByText(/Completed in 3 steps, \d+ tokens/));
      await inAnyFrame(page, (frame) => frame.getByText(/calls.*calculator.*expression.*2\+2/));
      await page.getByText('calculator: 2+2').first().waitFor();
      await page.screenshot({ path: screenshotPath('temporal-ui-run.png') });
    } finally {
      await close();
    }
  });
});
