import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureDebianPackage } from '../../deploy/debian';

// A real browser for tests of what people see: Debian's chromium (installed from apt when
// missing, never downloaded) driven by playwright-core. Each page gets a context of its own, and
// everything that goes wrong in it (console errors, uncaught exceptions, failed or refused
// requests, CSP violations) is collected so a test can assert there was none.

export const chromiumPath = '/usr/bin/chromium';

/** Quiet and offline: no sandbox (tests run as root), no GPU, and none of Chromium's own traffic. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export const defaultViewport = { width: 1280, height: 800 } as const;

export type PageProblemKind = 'console' | 'pageerror' | 'requestfailed' | 'http' | 'csp';

export interface PageProblem {
  kind: PageProblemKind;
  message: string;
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /** Everything that went wrong so far; the array fills as the page runs. */
  problems: PageProblem[];
  /** Closes the page's context (the browser stays open). */
  close(): Promise<void>;
}

export interface OpenPageOptions {
  viewport?: { width: number; height: number };
  /** Responses with these statuses are expected (a test of a refusal), not problems. */
  allowedStatuses?: number[];
  /** Milliseconds to wait for the load event. */
  timeoutMs?: number;
}

/** Headless Chromium; close it in `after`, which ends every process it started. */
export async function launchBrowser(): Promise<Browser> {
  ensureDebianPackage('chromium');
  return chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs], headless: true, timeout: 60_000 });
}

// Runs before any script of the page, outside its CSP (it comes over the DevTools protocol). A
// violation event is composed, so one listener on the window sees those inside shadow roots too.
const reportViolations = `addEventListener('securitypolicyviolation', (event) => {
  globalThis.__reportPageProblem?.(event.violatedDirective + ' refused ' + (event.blockedURI || 'inline') + (event.sourceFile ? ' (' + event.sourceFile + ':' + event.lineNumber + ')' : ''));
}, true);`;

/** Chromium asks every origin for /favicon.ico unless the page names an icon: not the page's request. */
const isImplicitFavicon = (url: string) => URL.canParse(url) && new URL(url).pathname === '/favicon.ico';

/** A fresh context and page at `url`, loaded, with its problems being collected. */
export async function openPage(browser: Browser, url: string, options: OpenPageOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? defaultViewport });
  const problems: PageProblem[] = [];
  const allowed = new Set(options.allowedStatuses ?? []);
  try {
    await context.exposeFunction('__reportPageProblem', (message: string) => {
      problems.push({ kind: 'csp', message });
    });
    await context.addInitScript(reportViolations);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url: source, lineNumber } = message.location();
      const failedLoad = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
      if (failedLoad && (allowed.has(Number(failedLoad[1])) || isImplicitFavicon(source))) return;
      problems.push({ kind: 'console', message: `${message.text()}${source ? ` (${source}:${lineNumber})` : ''}` });
    });
    page.on('pageerror', (error) => problems.push({ kind: 'pageerror', message: error.stack ?? error.message }));
    page.on('requestfailed', (request) => problems.push({ kind: 'requestfailed', message: `${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}` }));
    page.on('response', (response) => {
      if (response.status() >= 400 && !allowed.has(response.status())) problems.push({ kind: 'http', message: `${response.request().method()} ${response.url()}: ${response.status()}` });
    });
    const response = await page.goto(url, { waitUntil: 'load', timeout: options.timeoutMs ?? 30_000 });
    if (!response) throw new Error(`no response for ${url}`);
    return { page, context, problems, close: () => context.close() };
  } catch (error) {
    await context.close();
    throw error;
  }
}

/**
 * Where a test saves a screenshot of a view: docs/images/ when UPDATE_SCREENSHOTS=1 (`npm run
 * screenshots`, for the README), a scratch folder otherwise, so `npm test` leaves the tree alone.
 */
export function screenshotPath(name: string): string {
  const folder = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/images' : join(tmpdir(), 'durable-agents-screenshots');
  mkdirSync(folder, { recursive: true });
  return join(folder, name);
}
