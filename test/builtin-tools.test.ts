import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPrivateAddress } from '../src/activities/tools/address-policy';
import { currentTimeTool } from '../src/activities/tools/current-time-tool';
import { createHttpGetTool, type HttpGetOptions } from '../src/activities/tools/http-get-tool';
import { ToolInputError, type ToolContext } from '../src/activities/tools/registry';
import { waitTool } from '../src/activities/tools/wait-tool';
import { createWorkspaceTools } from '../src/activities/tools/workspace-tools';
import type { ToolProgress } from '../src/shared/events';

// The built-in tools on their own, with a real context: an AbortController and a progress log.

function context(overrides: Partial<ToolContext> = {}) {
  const progress: ToolProgress[] = [];
  const controller = new AbortController();
  const cacheLimits: number[] = [];
  const output: string[] = [];
  const value: ToolContext = {
    progress: (update) => progress.push(update),
    output: (text) => output.push(text),
    signal: controller.signal,
    attempt: 1,
    idempotencyKey: 'run:call',
    limitCache: (ttlMs) => cacheLimits.push(ttlMs),
    ...overrides,
  };
  return { context: value, progress, controller, cacheLimits, output };
}

const refused = (pattern: RegExp) => (error: unknown) => error instanceof ToolInputError && pattern.test(error.message);

describe('http_get', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/redirect-to-localhost') {
        response.writeHead(302, { location: `http://localhost:${(server.address() as AddressInfo).port}/secret` });
        return response.end();
      }
      if (request.url === '/big') {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(50_000) });
        return response.end('x'.repeat(50_000));
      }
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`hello from ${request.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const tool = (overrides: Partial<HttpGetOptions> = {}) =>
    createHttpGetTool({ allowPrivate: false, allowedHosts: [], timeoutMs: 5000, maxBytes: 10_000, ...overrides });

  for (const url of ['http://127.0.0.1/', 'http://localhost/', 'http://[::1]/', 'http://169.254.169.254/latest/meta-data/', 'http://0x7f000001/', 'http://10.0.0.1/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/']) {
    test(`when the URL is ${url}, then it is refused as a private address`, async () => {
      await assert.rejects(Promise.resolve(tool().run({ url }, context().context)), refused(/refused: .* private, loopback or link-local/));
    });
  }

  test('when the scheme is not http(s) or the URL has credentials, then it is refused', async () => {
    await assert.rejects(Promise.resolve(tool().run({ url: 'file:///etc/passwd' }, context().context)), refused(/only http and https/));
    await assert.rejects(Promise.resolve(tool().run({ url: 'http://user:pw@example.com/' }, context().context)), refused(/credentials/));
  });

  test('when a host is allowed by configuration, then the GET works and reports progress in bytes', async () => {
    const { context: ctx, progress } = context();
    const result = (await tool({ allowedHosts: ['127.0.0.1'] }).run({ url: `${base}/hello` }, ctx)) as { status: number; body: string };
    assert.equal(result.status, 200);
    assert.equal(result.body, 'hello from /hello');
    assert.deepEqual(progress.at(-1)!.data, { bytes: 'hello from /hello'.length });
  });

  test('when an allowed host redirects to a private one, then the redirect is refused', async () => {
    await assert.rejects(Promise.resolve(tool({ allowedHosts: ['127.0.0.1'] }).run({ url: `${base}/redirect-to-localhost` }, context().context)), refused(/localhost resolves to/));
  });

  test('when the body is larger than the limit, then it is cut at the limit and says so', async () => {
    const result = (await tool({ allowPrivate: true }).run({ url: `${base}/big` }, context().context)) as { body: string; truncated: boolean };
    assert.equal(result.body.length, 10_000);
    assert.equal(result.truncated, true);
  });

  test('when addresses are classified, then public ones pass and special ones do not', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) assert.equal(isPrivateAddress(address), false, address);
    for (const address of ['127.0.0.1', '192.168.1.1', '172.20.0.1', '100.64.0.1', 'fe80::1', 'fd00:ec2::254', '::', 'not-an-ip']) assert.equal(isPrivateAddress(address), true, address);
  });
});

describe('workspace tools', () => {
  const root = mkdtempSync(join(tmpdir(), 'workspace-'));
  const outside = mkdtempSync(join(tmpdir(), 'outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  mkdirSync(join(root, 'docs'));
  writeFileSync(join(root, 'readme.md'), 'hello workspace\nneedle here\n');
  writeFileSync(join(root, 'docs', 'a.txt'), 'one\ntwo needle\nthree\n');
  writeFileSync(join(root, 'docs', 'b.txt'), 'nothing\n');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(outside, join(root, 'escape-dir'));
  symlinkSync(join(root, 'docs', 'a.txt'), join(root, 'inside-link.txt'));
  const [listFiles, readFile, searchFiles] = createWorkspaceTools(root);

  test('when a file inside is read, directly or through a link that stays inside, then its content comes back', async () => {
    assert.equal(((await readFile!.run({ path: 'readme.md', maxBytes: 1000 }, context().context)) as { content: string }).content, 'hello workspace\nneedle here\n');
    assert.match(((await readFile!.run({ path: 'inside-link.txt', maxBytes: 1000 }, context().context)) as { content: string }).content, /two needle/);
  });

  for (const path of ['../outside.txt', 'docs/../../x', '/etc/passwd', 'escape.txt', 'escape-dir/secret.txt']) {
    test(`when the path is ${path}, then it is refused`, async () => {
      await assert.rejects(Promise.resolve(readFile!.run({ path, maxBytes: 1000 }, context().context)), refused(/refused|no such file/));
    });
  }

  test('when files are listed, then links out of the workspace are left out', async () => {
    const top = (await listFiles!.run({ path: '.', recursive: false }, context().context)) as { entries: Array<{ path: string }> };
    assert.deepEqual(top.entries.map((entry) => entry.path).sort(), ['docs', 'inside-link.txt', 'readme.md']);
    const all = (await listFiles!.run({ path: '.', recursive: true }, context().context)) as { entries: Array<{ path: string }> };
    assert.ok(!all.entries.some((entry) => entry.path.includes('secret')));
    await assert.rejects(Promise.resolve(listFiles!.run({ path: 'escape-dir', recursive: false }, context().context)), refused(/outside the workspace/));
  });

  test('when searching, then matches come with file and line, progress is reported (at most a few a second), and nothing outside is read', async () => {
    const { context: ctx, progress } = context();
    const result = (await searchFiles!.run({ pattern: 'needle', path: '.', regex: false }, ctx)) as { matches: Array<{ path: string; line: number }> };
    assert.deepEqual(result.matches.map((match) => `${match.path}:${match.line}`).sort(), ['docs/a.txt:2', 'readme.md:2']);
    // Three files searched at once: the first update goes out, the last is held back and then sent.
    assert.deepEqual(progress.map((update) => update.fraction), [1 / 3, 1]);
    const secret = (await searchFiles!.run({ pattern: 'secret', path: '.', regex: false }, context().context)) as { matches: unknown[] };
    assert.deepEqual(secret.matches, []);
    await assert.rejects(Promise.resolve(searchFiles!.run({ pattern: '(', path: '.', regex: true }, context().context)), refused(/invalid regular expression/));
  });
});

describe('current_time and wait', () => {
  test('when a time zone is given, then the time is shown there; an unknown zone is a clear error', () => {
    const result = currentTimeTool.run({ timezone: 'Asia/Tokyo' }, context().context) as { iso: string; timezone: string; local: string };
    assert.equal(result.timezone, 'Asia/Tokyo');
    assert.match(result.local, /Japan Standard Time|GMT\+9/);
    assert.throws(() => currentTimeTool.run({ timezone: 'Mars/Olympus' }, context().context), refused(/unknown time zone/));
  });

  test('when wait is cancelled, then it ends at once with the cancellation', async () => {
    const { context: ctx, controller } = context();
    const running = Promise.resolve(waitTool.run({ seconds: 3600 }, ctx));
    controller.abort(new Error('cancelled by test'));
    await assert.rejects(running, /cancelled by test/);
  });

  test('when wait runs, then it reports progress about every second and finishes', async () => {
    const { context: ctx, progress } = context();
    assert.equal(await waitTool.run({ seconds: 2.2 }, ctx), 'waited 2.2 s');
    assert.deepEqual(progress.map((update) => update.message), ['waited 1 of 2.2 s', 'waited 2 of 2.2 s']);
  });
});
