import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectTranscript, createClient, type DurableAgentsClient } from '../src/client';
import { resolveAccess } from '../src/api/auth/access';
import { StreamTokens } from '../src/api/auth/stream-tokens';
import { ensureConsoleBuilt } from '../src/api/console-assets';
import { calculatorTool } from '../src/activities/tools/calculator-tool';
import { ToolRegistry, type ToolDefinition } from '../src/activities/tools/registry';
import { z } from 'zod';
import { waitTool } from '../src/activities/tools/wait-tool';
import { textFrames, toolCallFrames } from '../src/demo-model/chunks';
import type { Responder } from '../src/demo-model/server';
import { toolCallScriptInput, toolScript } from '../src/demo-model/tool-call-script';
import { launchBrowser, openPage, screenshotPath, type OpenedPage } from './helpers/browser';
import { deleteFileTool } from './helpers/delete-file-tool';
import { startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The web console (web/) in Debian's Chromium, against a real API with keys, a real worker and
// Temporal: it asks for a key, starts runs, shows tokens as they come, tools side by side with
// moving progress bars, approvals, cancel, sessions; a reload mid-run shows exactly the run's
// text. (A worker killed mid-answer: console-crash.test.ts.)

const key = 'console-key-0123456789abcdef';
const story = Array.from({ length: 80 }, (_, index) => `w${index}`).join(' ');

/** A long run: the model calls `blob` (40 KB results) again and again, then answers. */
const longRunSteps = 25;
const blobTool: ToolDefinition<{ n: number }> = {
  name: 'blob',
  description: 'returns 40 KB',
  parameters: z.object({ n: z.number() }),
  idempotent: true,
  run: ({ n }) => `${n}:${'x'.repeat(40_000)}`,
};

/** Streams its output a line at a time; cached for a minute (a second call with the same lines is a hit). */
const typewriterTool: ToolDefinition<{ lines: number }> = {
  name: 'typewriter',
  description: 'types lines slowly',
  parameters: z.object({ lines: z.number() }),
  idempotent: true,
  cache: { ttlMs: 60_000 },
  async run({ lines }, context) {
    for (let line = 0; line < lines; line++) {
      context.output(`line ${line}\n`);
      context.progress({ fraction: (line + 1) / lines, message: `line ${line + 1} of ${lines}` });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return `typed ${lines} lines`;
  },
};

const responder: Responder = (request) => {
  const calls = request.messages.filter((message) => message.role === 'tool').length;
  if ((request.messages.find((message) => message.role === 'user')?.content ?? '').startsWith('long run')) {
    if (calls < longRunSteps) return { kind: 'stream', frames: toolCallFrames(request.model, [{ id: `call_${calls}`, name: 'blob', arguments: JSON.stringify({ n: calls }) }], { firstTokenDelayMs: 0, tokenDelayMs: 0 }) };
    return { kind: 'stream', frames: textFrames(request.model, `After ${calls} blobs: ${story}`, { firstTokenDelayMs: 0, tokenDelayMs: 2 }) };
  }
  const last = request.messages.findLast((message) => message.role === 'user')?.content ?? '';
  const first = request.messages.find((message) => message.role === 'user')?.content ?? '';
  if (request.messages.at(-1)?.role !== 'tool' && last.startsWith('story')) return { kind: 'stream', frames: textFrames(request.model, story, { firstTokenDelayMs: 100, tokenDelayMs: 60 }) };
  if (first.startsWith('{"calls"')) return toolScript(request);
  return { kind: 'stream', frames: textFrames(request.model, `You said: ${last}`, { firstTokenDelayMs: 10, tokenDelayMs: 5 }) };
};

let temporal: TestTemporal;
let stack: TestStack;
let browser: Browser;
let client: DurableAgentsClient;
const deleted: string[] = [];
const opened: OpenedPage[] = [];

before(async () => {
  const [environment] = await Promise.all([startTemporal(), ensureConsoleBuilt()]);
  temporal = environment;
  stack = await startTestStack(temporal, responder, {
    tools: new ToolRegistry([calculatorTool, waitTool, deleteFileTool(deleted), blobTool, typewriterTool]),
    access: resolveAccess({ mode: 'auto', keys: `acme:${key}`, host: '127.0.0.1' }),
    streamTokens: new StreamTokens('console-test-stream-secret-0123456789abcdef'),
  });
  client = createClient({ baseUrl: stack.url, apiKey: key });
  browser = await launchBrowser();
});

after(async () => {
  for (const page of opened) await page.close().catch(() => undefined);
  await browser?.close();
  await stack?.close();
  await temporal?.teardown();
});

/** A console page, signed in with the key (kept in the tab's session storage). */
async function signedIn(path: string, viewport?: { width: number; height: number }): Promise<OpenedPage> {
  const page = await openPage(browser, `${stack.url}/`, { allowedStatuses: [401], ...(viewport ? { viewport } : {}) });
  opened.push(page);
  await page.page.getByLabel('Key', { exact: true }).fill(key);
  await page.page.getByRole('button', { name: 'Use this key' }).click();
  await page.page.getByRole('heading', { name: 'Runs' }).waitFor();
  // The first read without a key was refused (the browser logs it): that is how the console knew to ask.
  page.problems.length = 0;
  if (path !== '/') await page.page.goto(`${stack.url}${path}`);
  return page;
}

/** The page's text of the run: every model step's text, in order. */
const pageText = (page: Page) => page.locator('[data-testid="step-text"]').evaluateAll((nodes) => nodes.map((node) => node.firstChild?.textContent ?? '').join(''));

/**
 * What went wrong in the page. Requests the page itself abandons show as aborted: a stream the
 * client closes once it has the run's end, the list's reads when the test navigates away. Not
 * problems; anything else is.
 */
const problemsOf = (page: OpenedPage) => page.problems.filter((problem) => !(problem.kind === 'requestfailed' && /net::ERR_ABORTED$/.test(problem.message)));

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's WCAG 2 A and AA rules (contrast, names, labels, landmarks) on the page as it is now:
 * each violation as "rule: what, where". Evaluated over the DevTools protocol, so the page's CSP
 * (scripts from itself only) does not stop it.
 */
async function accessibilityViolations(page: Page): Promise<string[]> {
  return page.evaluate(`(async () => {
    ${axeSource}
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((violation) => violation.id + ': ' + violation.help + ' at ' + violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join(', '));
  })()`);
}

const transcriptOf = async (runId: string) => (await collectTranscript(client.streamRun(runId))).text;

// Four at a time: one Chromium holds at most six connections per host over HTTP/1.1, and each
// page keeps a stream open; ten pages at once starved each other's requests.
describe('the web console', { concurrency: 4 }, () => {
  test('when the API has keys, then the console asks for one, refuses a wrong one, and keeps the right one for the tab only', async () => {
    const first = await openPage(browser, `${stack.url}/`, { allowedStatuses: [401] });
    opened.push(first);
    const { page } = first;
    
    await page.getByLabel('Key', { exact: true }).fill('not-the-key-0123456789');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('That key was not accepted.').waitFor();
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('durable-agents.apiKey')"), key);
    assert.equal(await page.evaluate('localStorage.length'), 0, 'nothing in local storage');
    // A reload keeps it (same tab); a new tab (context) asks again.
    await page.reload();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    const other = await openPage(browser, `${stack.url}/`, { allowedStatuses: [401] });
    opened.push(other);
    await other.page.getByLabel('Key', { exact: true }).waitFor();
    assert.deepEqual(problemsOf(first).filter((problem) => !problem.message.includes('401')), []);
  });

  test('when a run is started from the form, then its page shows tokens before the run ends, then the whole text, exactly the transcript', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    await page.getByLabel('Task').fill('story time');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
    const text = page.locator('[data-testid="step-text"]').first();
    await text.filter({ hasText: 'w5 w6' }).waitFor();
    assert.equal(await page.getByTestId('run-status').textContent(), 'running', 'tokens show while the run still runs');
    assert.doesNotMatch((await pageText(page)) ?? '', /w79/);
    assert.match((await page.getByTestId('run-tokens').textContent()) ?? '', /tokens/);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.equal(await pageText(page), story);
    assert.equal(await pageText(page), await transcriptOf(runId));
    assert.match((await page.locator('.step.llm .facts').first().textContent()) ?? '', /TTFT \d/);
    await page.screenshot({ path: screenshotPath('console-run.png'), fullPage: true });
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when a step calls three tools at once, then they are cards side by side whose progress bars move, each result lands, and the finish order shows', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: toolCallScriptInput(['wait', { seconds: 2 }], ['wait', { seconds: 4 }], ['calculator', { expression: '6*7' }]) });
    await page.goto(`${stack.url}/runs/${runId}`);
    const cards = page.locator('.tool-card');
    await cards.nth(2).waitFor();
    assert.equal(await cards.count(), 3);
    const boxes = await Promise.all([0, 1, 2].map((index) => cards.nth(index).boundingBox()));
    assert.ok(boxes.every((box) => box && Math.abs(box.y - boxes[0]!.y) < 2), 'the three cards are on one row');
    // The 4-second wait reports progress every second: its bar moves while it runs.
    const slow = page.locator('.tool-card[data-status="running"]').filter({ hasText: '"seconds": 4' }).getByRole('progressbar');
    const seen = new Set<string>();
    for (let sample = 0; sample < 40 && seen.size < 2; sample++) {
      const value = await slow.getAttribute('aria-valuenow').catch(() => null);
      if (value !== null) seen.add(value);
      await page.waitForTimeout(150);
    }
    assert.ok(seen.size >= 2, `the bar moved: ${[...seen].join(', ')}`);
    assert.match((await page.locator('.tool-card').filter({ hasText: '"seconds": 4' }).locator('.progress-line').textContent()) ?? '', /about .+ left|waited/, 'the time left shows while it runs');
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.deepEqual(await page.locator('.tool-card').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-status'))), ['completed', 'completed', 'completed']);
    assert.match((await page.locator('[data-testid="tool-result"]').allTextContents()).join('|'), /42/);
    const order = await page.locator('.tool-card .badge[title^="order"]').allTextContents();
    assert.deepEqual([...order].sort(), ['#1', '#2', '#3']);
    assert.equal(await page.locator('.tool-card').filter({ hasText: '"seconds": 4' }).locator('.badge[title^="order"]').textContent(), '#3', 'the longest wait finished last');
    await page.screenshot({ path: screenshotPath('console-tools.png'), fullPage: true });
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when calls wait for approval, then one is approved and one denied with a reason from the page, and each decision shows at once and stays', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: toolCallScriptInput(['delete_file', { path: 'keep.txt' }], ['delete_file', { path: 'old.log' }]) });
    await page.goto(`${stack.url}/runs/${runId}`);
    const keep = page.locator('.approval-card').filter({ hasText: 'keep.txt' });
    const old = page.locator('.approval-card').filter({ hasText: 'old.log' });
    await keep.getByRole('button', { name: 'Deny' }).waitFor();
    await page.screenshot({ path: screenshotPath('console-approval.png'), fullPage: true });
    assert.deepEqual(await accessibilityViolations(page), [], 'the run page with approvals passes axe (WCAG 2 AA)');
    await keep.getByLabel('Reason (optional)').fill('we need that file');
    await keep.getByRole('button', { name: 'Deny' }).click();
    await keep.locator('[data-decision="denied"], .badge.decision.denied').first().waitFor();
    assert.match((await keep.textContent()) ?? '', /Reason: we need that file/);
    await old.getByRole('button', { name: 'Approve' }).click();
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.equal(await keep.getAttribute('data-decision'), 'denied');
    assert.equal(await old.getAttribute('data-decision'), 'approved');
    assert.equal(await page.locator('.approval-card button').count(), 0, 'no buttons once decided');
    assert.ok(deleted.includes('old.log') && !deleted.includes('keep.txt'), `deleted: ${deleted.join(', ')}`);
    // A reload reads the decisions back from the run.
    await page.reload();
    await page.locator('.approval-card[data-decision="denied"]').filter({ hasText: 'keep.txt' }).waitFor();
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when Cancel is pressed mid-answer, then the run ends cancelled and the page says what it had written', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: 'story to cancel' });
    await page.goto(`${stack.url}/runs/${runId}`);
    await page.locator('[data-testid="step-text"]').filter({ hasText: 'w3 w4' }).waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByTestId('run-status').filter({ hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('run-end').textContent()) ?? '', /Cancelled/);
    assert.equal((await client.getRun(runId)).status, 'cancelled');
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when the page is reloaded in the middle of a run, then it shows exactly the run\'s text: nothing doubled, nothing missing', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: 'story with a reload' });
    await page.goto(`${stack.url}/runs/${runId}`);
    await page.locator('[data-testid="step-text"]').filter({ hasText: 'w10 w11' }).waitFor();
    await page.reload();
    await page.locator('[data-testid="step-text"]').first().waitFor();
    const midway = await pageText(page);
    assert.ok(story.startsWith(midway), `a prefix of the story after the reload: ${midway.slice(-40)}`);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.equal(await pageText(page), await transcriptOf(runId));
    assert.equal(await pageText(page), story);
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when a run has steps and tool calls, then each links to its own event in the Temporal Web UI', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: toolCallScriptInput(['calculator', { expression: '2+2' }]) });
    await collectTranscript(client.streamRun(runId));
    await page.goto(`${stack.url}/runs/${runId}`);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor();
    const exact = page.locator('a.temporal-link[data-exact="true"]');
    await exact.nth(3).waitFor();
    const hrefs = await exact.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('href') ?? ''));
    const history = await temporal.client.workflow.getHandle(runId).fetchHistory();
    const scheduled = new Map((history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes).map((event) => [String(event.eventId), event.activityTaskScheduledEventAttributes!.activityType?.name ?? '']));
    const eventLinks = hrefs.filter((href) => /\/history\/events\/\d+$/.test(href));
    assert.ok(eventLinks.length >= 3, hrefs.join('\n'));
    for (const href of eventLinks) {
      assert.ok(href.startsWith(`http://localhost:8233/namespaces/default/workflows/${runId}/`), href);
      assert.ok(scheduled.has(href.split('/').at(-1)!), `${href} names an ActivityTaskScheduled event`);
    }
    assert.ok(eventLinks.some((href) => scheduled.get(href.split('/').at(-1)!) === 'llmStep'), 'a model step links to its activity');
    assert.ok(eventLinks.some((href) => scheduled.get(href.split('/').at(-1)!) !== 'llmStep'), 'the tool call links to its activity');
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when a session is opened, then its earlier turns are loaded and a new message streams its answer in the chat', async () => {
    const { sessionId } = await client.createSession({});
    const earlier = await client.sendMessage(sessionId, { input: 'the first message' });
    await collectTranscript(client.streamRun(earlier.runId));
    const signed = await signedIn(`/sessions/${sessionId}`);
    const { page } = signed;
    await page.locator('.turn').filter({ hasText: 'You said: the first message' }).waitFor();
    await page.getByLabel('Message').fill('story in a session');
    await page.keyboard.press('Enter');
    const running = page.locator('.turn.running [data-testid="turn-text"]');
    await running.filter({ hasText: 'w3 w4' }).waitFor();
    assert.doesNotMatch((await running.textContent()) ?? '', /w79/, 'streaming, not yet whole');
    await page.locator('.turn').filter({ hasText: 'w79' }).locator('[data-testid="turn-text"]').filter({ hasText: story }).waitFor({ timeout: 60_000 });
    await page.getByLabel('Message').and(page.locator(':enabled')).waitFor();
    assert.equal(await page.locator('.turn').count(), 2);
    await page.screenshot({ path: screenshotPath('console-session.png'), fullPage: true });
    assert.deepEqual(await accessibilityViolations(page), [], 'the session page passes axe (WCAG 2 AA)');
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when the runs page is used on a phone-sized screen and with the keyboard only, then nothing overflows and a run starts from the keyboard', async () => {
    await collectTranscript(client.streamRun((await client.createRun({ input: 'a run for the list, with a long task that could push the table wider than a phone' })).runId));
    const signed = await signedIn('/', { width: 390, height: 844 });
    const { page } = signed;
    // A fresh load, as a keyboard user arrives: focus starts at the top of the page.
    await page.goto(`${stack.url}/`);
    await page.locator('tbody tr').first().waitFor();
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(Number(overflow) <= 0, `no sideways scrolling (overflow ${String(overflow)} px)`);
    // The skip link first, then the form: Tab reaches the task, typing and Enter on Start starts a run.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    for (let presses = 0; presses < 12 && (await page.evaluate('document.activeElement?.id')) !== 'task'; presses++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'task');
    await page.keyboard.type('What is 6*7 from the keyboard?');
    for (let presses = 0; presses < 12 && (await page.evaluate('document.activeElement?.textContent')) !== 'Start'; presses++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/runs\//);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
    const overflowRun = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(Number(overflowRun) <= 0, `the run page fits too (overflow ${String(overflowRun)} px)`);
    await page.screenshot({ path: screenshotPath('console-phone.png') });
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when a run is long (many steps, 40 KB results), then its page holds every step and exactly the run\'s text', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: 'long run please', tools: ['blob'], maxSteps: longRunSteps + 5 });
    await page.goto(`${stack.url}/runs/${runId}`);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('section.step').count(), 2 * longRunSteps + 1);
    assert.equal(await page.locator('.tool-card[data-status="completed"]').count(), longRunSteps);
    const transcript = await transcriptOf(runId);
    assert.equal(await pageText(page), transcript);
    assert.ok(transcript.endsWith(story));
    // The results are there, folded: a 40 KB result opens on demand.
    const last = page.locator('.tool-card').last();
    await last.locator('summary').click();
    assert.equal(((await last.getByTestId('tool-result').textContent()) ?? '').length, 40_000 + `${longRunSteps - 1}:`.length);
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when a tool streams its output, then the card shows it as it comes; the same call again is a cached result, badged', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    // 16 lines, 300 ms apart: a page that loads slowly (a busy machine) still sees the call running.
    const lines = 16;
    const input = toolCallScriptInput(['typewriter', { lines }]);
    const first = await client.createRun({ input, tools: ['typewriter'] });
    await page.goto(`${stack.url}/runs/${first.runId}`);
    const card = page.locator('.tool-card').first();
    await card.getByTestId('tool-output').filter({ hasText: 'line 1' }).waitFor();
    assert.equal(await card.getAttribute('data-status'), 'running', 'the output shows while the call runs');
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
    assert.equal(await card.getByTestId('tool-output').textContent(), Array.from({ length: lines }, (_, line) => `line ${line}\n`).join(''));
    assert.equal(await card.locator('.badge.cached').count(), 0);
    const second = await client.createRun({ input, tools: ['typewriter'] });
    await page.goto(`${stack.url}/runs/${second.runId}`);
    await page.getByTestId('run-status').filter({ hasText: 'completed' }).waitFor({ timeout: 30_000 });
    await page.locator('.tool-card .badge.cached').waitFor();
    assert.match((await page.locator('.tool-card [data-testid="tool-result"]').textContent()) ?? '', new RegExp(`typed ${lines} lines`));
    assert.deepEqual(problemsOf(signed), []);
  });

  test('when runs exist, then the list shows each with its status, model, steps, tokens and age, and filters by status', async () => {
    const signed = await signedIn('/');
    const { page } = signed;
    const { runId } = await client.createRun({ input: 'listed run' });
    await collectTranscript(client.streamRun(runId));
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await row.waitFor({ timeout: 20_000 });
    await row.locator('td').nth(4).filter({ hasText: /\d/ }).waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[0], 'listed run');
    assert.equal(cells[1], 'completed');
    assert.equal(cells[2], 'scripted');
    assert.equal(cells[3], '1');
    assert.match(cells[4]!, /^\d+$/);
    assert.match(cells[6]!, /ago$|^just now$/);
    await page.getByRole('button', { name: 'Failed' }).click();
    await page.getByText(/No runs failed yet|tbody/).first().waitFor();
    assert.equal(await page.locator(`tr[data-run-id="${runId}"]`).count(), 0, 'a completed run is not among failed ones');
    await page.getByRole('button', { name: 'Completed' }).click();
    await row.waitFor();
    await page.screenshot({ path: screenshotPath('console-runs.png') });
    assert.deepEqual(await accessibilityViolations(page), [], 'the runs page passes axe (WCAG 2 AA)');
    assert.deepEqual(problemsOf(signed), []);
  });
});
