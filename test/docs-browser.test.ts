import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { resolveAccess } from '../src/api/auth/access';
import { textFrames } from '../src/demo-model/chunks';
import { launchBrowser, openPage, screenshotPath, type OpenedPage, type PageProblemKind } from './helpers/browser';
import { callApi, startTestStack, type TestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// /docs in a real browser: RapiDoc, from node_modules under the page's own CSP, renders the
// document (its title and every operation) without a console error, CSP violation or failed
// request, and its console sends a real, authenticated request and shows the answer.

const key = 'acme-docs-browser-key-0123456789ab';
let temporal: TestTemporal;
let stack: TestStack;
let browser: Browser;
let document: { info: { title: string }; paths: Record<string, Record<string, { summary?: string }>> };

before(async () => {
  temporal = await startTemporal();
  stack = await startTestStack(temporal, (request) => ({ kind: 'stream', frames: textFrames(request.model, 'Hello there.', { firstTokenDelayMs: 0, tokenDelayMs: 0 }) }), {
    access: resolveAccess({ mode: 'auto', keys: `acme:${key}`, host: '127.0.0.1' }),
  });
  document = (await callApi(stack.url, 'GET', '/openapi.json')).body;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await temporal?.teardown();
});

/** RapiDoc's id for an operation: its method and path, with `{`, `}` (and other characters ids avoid) as `-`. */
const operationId = (method: string, path: string) => `${method}-${path}`.replace(/[\s#:?&={}]/g, '-');

/** /docs, opened, with RapiDoc's shadow DOM showing the document's title. */
async function openDocs(): Promise<OpenedPage> {
  const opened = await openPage(browser, `${stack.url}/docs`);
  await opened.page.locator('rapi-doc').getByText(document.info.title, { exact: true }).first().waitFor({ timeout: 15_000 });
  return opened;
}

describe('the API reference in Chromium', () => {
  test('when /docs is opened, then RapiDoc renders the title and every operation, with no console error, CSP violation or failed request', async () => {
    const { page, problems, close } = await openDocs();
    try {
      assert.equal(await page.evaluate(`customElements.get('rapi-doc') !== undefined`), true, 'the rapi-doc element is defined');
      const reference = page.locator('rapi-doc');
      const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method, path })));
      assert.ok(operations.length >= 15, `${operations.length} operations`);
      for (const { method, path } of operations) {
        assert.equal(await reference.locator(`[id="link-${operationId(method, path)}"]`).count(), 1, `${method.toUpperCase()} ${path} is in the navigation`);
      }
      for (const [method, path] of [['post', '/v1/runs'], ['get', '/v1/runs/{runId}/events']] as const) {
        await reference.locator(`[id="link-${operationId(method, path)}"]`).click();
        const section = reference.locator(`[id="${operationId(method, path)}"]`);
        await section.waitFor();
        const text = await section.innerText();
        assert.match(text, new RegExp(`${method}\\s+${path.replace(/[{}/]/g, '\\$&')}`, 'i'), `${method.toUpperCase()} ${path} is shown`);
        assert.ok(text.includes(document.paths[path]![method]!.summary!), `${method.toUpperCase()} ${path}: its summary`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test('when a key is set and "try" is pressed on GET /v1/runs, then the page shows the API\'s real answer', async () => {
    const started = await callApi(stack.url, 'POST', '/v1/runs', key, { input: 'Hello?' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const runId = started.body.runId as string;
    const { page, problems, close } = await openDocs();
    try {
      const reference = page.locator('rapi-doc');
      await reference.locator('#link-auth').click();
      const bearer = reference.locator('#security-scheme-apiKey');
      await bearer.locator('input.api-key-input').fill(key);
      await bearer.getByRole('button', { name: 'SET' }).click();
      await reference.getByText(/1 API key applied/i).waitFor({ timeout: 5_000 });

      await reference.locator(`[id="link-${operationId('get', '/v1/runs')}"]`).click();
      const section = reference.locator(`[id="${operationId('get', '/v1/runs')}"]`);
      const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/v1/runs' && response.request().method() === 'GET');
      await section.getByRole('button', { name: 'TRY' }).click();
      const response = await answered;
      assert.equal(response.status(), 200);
      assert.equal(await response.request().headerValue('authorization'), `Bearer ${key}`, 'the console sent the key it was given');
      // What the reader sees: the status, and the run started above in the body RapiDoc shows.
      await section.getByText(/OK:200|^200$/).first().waitFor({ timeout: 5_000 });
      await section.getByText(runId).first().waitFor({ timeout: 5_000 });

      await section.getByText(/OK:200|^200$/).first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshotPath('api-docs.png') });
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  test('when the page breaks its policy or a request fails, then the checks above see it', async () => {
    const { page, problems, close } = await openDocs();
    try {
      await page.evaluate(`(async () => {
        const script = document.createElement('script');
        script.textContent = 'window.ran = true';
        document.body.append(script);
        await fetch('http://example.invalid/').catch(() => undefined);
        await fetch('/docs/missing.js');
      })()`);
      const expected: Array<[PageProblemKind, RegExp]> = [
        ['csp', /^script-src/],
        ['csp', /^connect-src refused http:\/\/example\.invalid/],
        ['http', /^GET \S+\/docs\/missing\.js: 404$/],
        ['console', /Content Security Policy/],
      ];
      // Reports cross from the page asynchronously: wait for each, briefly.
      const seen = (kind: PageProblemKind, pattern: RegExp) => problems.some((problem) => problem.kind === kind && pattern.test(problem.message));
      for (let waited = 0; waited < 5_000 && !expected.every(([kind, pattern]) => seen(kind, pattern)); waited += 50) await setTimeout(50);
      for (const [kind, pattern] of expected) assert.ok(seen(kind, pattern), `${kind} ${pattern}: ${JSON.stringify(problems, null, 2)}`);
      assert.equal(await page.evaluate(`window.ran === true`), false, 'the inline script did not run');
    } finally {
      await close();
    }
  });
});
