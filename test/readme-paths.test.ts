import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage } from './helpers/browser';
import { freePort } from '../src/temporal/free-port';
import { startChild, type Child } from './helpers/processes';
import { startTemporal, type TestTemporal } from './helpers/temporal';

// The README's "Five minutes, five doors": every block of that section, as written, against
// `npm start` (src/main.ts with its defaults: the demo model, an open API on loopback). The only
// change made to a block is the address: npm start's default port, 3000, may be taken here, so
// `http://127.0.0.1:3000` becomes the address it really listens on (and the page origin
// `http://localhost:5173` the one the page is served from).

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Five minutes, five doors'), readme.indexOf('\n## ', readme.indexOf('## Five minutes, five doors') + 1));

/** The fenced block under `<!-- door: name -->`. */
function door(name: string): string {
  const match = new RegExp(`<!-- door: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(section);
  assert.ok(match, `the README has a "${name}" block in "Five minutes, five doors"`);
  return match[1]!;
}

let temporal: TestTemporal;
let npmStart: Child;
let api: string;
let pages: Server;
let pageOrigin: string;
let browser: Browser;
const scratch = mkdtempSync(join(root, '.readme-paths-'));
const asHere = (text: string) => text.replaceAll('http://127.0.0.1:3000', api).replaceAll('http://localhost:5173', pageOrigin);

/** A shell command or a script, run as a user would, in the repository's folder or the scratch one. */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  temporal = await startTemporal();
  // The page's server first: its origin goes into CORS_ORIGINS as the README says.
  pages = createServer();
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  // npm start, pointed at this test's Temporal (the embedded one is another test's business).
  npmStart = startChild('src/main.ts', { PORT: String(await freePort()), TEMPORAL_ADDRESS: temporal.address, CORS_ORIGINS: pageOrigin, TASK_QUEUE: 'readme-paths' });
  api = (await npmStart.waitFor(/API:\s+(http:\/\/\S+)/, 120_000))[1]!;
});

after(async () => {
  await browser?.close();
  await npmStart?.stop();
  pages?.close();
  await temporal?.teardown();
  rmSync(scratch, { recursive: true, force: true });
});

describe('README: five minutes, five doors, as written', { concurrency: true }, () => {
  test('curl: the run streams to run.completed and its state has the answer', async () => {
    const { code, stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', asHere(door('curl'))], root);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /event: tool\.completed/);
    assert.match(stdout, /event: run\.completed/);
    const state = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1)) as { status: string; output: string };
    assert.equal(state.status, 'completed');
    assert.match(state.output, /12\*7 = 84/);
  });

  test('the typed client: first-run.ts with npx tsx prints the answer and the end', async () => {
    assert.ok(section.includes('npx tsx first-run.ts'));
    writeFileSync(join(scratch, 'first-run.ts'), asHere(door('client')));
    const { code, stdout, stderr } = await run('npx', ['tsx', 'first-run.ts'], scratch);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /12\*7 = 84/);
    assert.match(stdout, /run\.completed\s*$/);
    assert.match(stderr, /\[calculator done\]/);
  });

  test('the CLI: npx durable-agents run prints the answer, and runs lists it', async () => {
    const { code, stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', asHere(door('cli'))], root);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /12\*7 = 84/);
    assert.match(stdout, /What is 12\*7\?/, 'runs lists the run with the start of its task');
  });

  test('MCP: first-mcp.ts with npx tsx gets progress, then the output', async () => {
    assert.ok(section.includes('npx tsx first-mcp.ts'));
    writeFileSync(join(scratch, 'first-mcp.ts'), asHere(door('mcp')));
    const { code, stdout, stderr } = await run('npx', ['tsx', 'first-mcp.ts'], scratch);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /12\*7 = 84/);
    assert.ok(stderr.trim().length > 0, 'progress notifications were printed');
  });

  test('the TypeScript blocks type-check as they are, in a browser project (DOM lib, React JSX) with strict settings', async () => {
    const typed = mkdtempSync(join(scratch, 'typed-'));
    writeFileSync(join(typed, 'first-run.ts'), door('client'));
    writeFileSync(join(typed, 'first-mcp.ts'), door('mcp'));
    writeFileSync(join(typed, 'App.tsx'), door('useChat'));
    const tsconfig = { extends: '../../tsconfig.json', compilerOptions: { jsx: 'react-jsx', noEmit: true, lib: ['ES2023', 'DOM', 'DOM.Iterable'] }, include: ['*.ts', '*.tsx'] };
    writeFileSync(join(typed, 'tsconfig.json'), JSON.stringify(tsconfig));
    const { code, stdout } = await run('npx', ['tsc', '-p', typed], root);
    assert.equal(code, 0, stdout);
  });

  test("useChat: the App.tsx in a browser page on another origin streams the answer, and a reload shows the chat again", async () => {
    // What Vite's react-ts template does: index.html, a main.tsx that renders <App />, bundled.
    writeFileSync(join(scratch, 'App.tsx'), asHere(door('useChat')));
    writeFileSync(join(scratch, 'main.tsx'), "import { createRoot } from 'react-dom/client';\nimport App from './App';\ncreateRoot(document.getElementById('root')!).render(<App />);\n");
    const bundle = await build({ entryPoints: [join(scratch, 'main.tsx')], bundle: true, write: false, format: 'esm', jsx: 'automatic', platform: 'browser', define: { 'process.env.NODE_ENV': '"development"' }, logLevel: 'silent' });
    const script = bundle.outputFiles[0]!.text;
    pages.on('request', (request, response) => {
      if (request.url === '/main.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><head><title>my-chat</title></head><body><div id="root"></div><script type="module" src="/main.js"></script></body></html>');
    });
    browser = await launchBrowser();
    const opened = await openPage(browser, pageOrigin + '/');
    const { page } = opened;
    const box = page.getByPlaceholder('What is 12*7?');
    await box.fill('What is 12*7?');
    await box.press('Enter');
    const answer = page.locator('p', { hasText: 'assistant:' });
    await answer.filter({ hasText: '12*7 = 84' }).waitFor({ timeout: 60_000 });
    await page.getByPlaceholder('What is 12*7?').and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
    assert.deepEqual(opened.problems, []);
    // The page holds the chat in memory only; after a reload, resume asks for a running turn and
    // gets 204 (none runs), so the page is empty and ready again: no error, no stuck request.
    await page.reload();
    await page.getByPlaceholder('What is 12*7?').and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
    assert.deepEqual(opened.problems, []);
    await opened.close();
  });
});
