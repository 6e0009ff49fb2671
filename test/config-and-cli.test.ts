import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config';
import { cliCacheDir, findTemporalCli, TemporalCliNotFoundError, temporalCliVersion } from '../src/temporal/cli';

describe('configuration', () => {
  test('when nothing is set, then the defaults run the embedded Temporal and the demo model', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.temporal.address, undefined);
    assert.equal(config.temporal.port, 7233);
    assert.equal(config.temporal.uiPort, 8233);
    assert.equal(config.temporal.uiUrl, 'http://localhost:8233');
    assert.equal(config.model.useDemo, true);
    assert.match(config.dataDir, /\.data$/);
  });

  test('when a real endpoint is configured, then the demo model is off and the key is kept out of sight', () => {
    const config = loadConfig({ OPENAI_BASE_URL: 'http://localhost:11434/v1', MODEL: 'llama3.2', TEMPORAL_PORT: '7300' });
    assert.equal(config.model.useDemo, false);
    assert.equal(config.model.name, 'llama3.2');
    assert.equal(config.temporal.uiPort, 8300);
    assert.equal(loadConfig({ OPENAI_API_KEY: 'sk-x' }).model.useDemo, false);
  });

  test('when values are invalid, then loading fails at once naming every bad variable', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', TEMPORAL_PORT: '70000', OPENAI_BASE_URL: 'not a url' }),
      (error: unknown) =>
        error instanceof ConfigError && /PORT/.test(error.message) && /TEMPORAL_PORT/.test(error.message) && /OPENAI_BASE_URL/.test(error.message),
    );
  });
});

describe('model providers and fallbacks', () => {
  const failsWith = (pattern: RegExp, secret?: string) => (error: unknown) =>
    error instanceof ConfigError && pattern.test(error.message) && (secret === undefined || !error.message.includes(secret));

  test('when only ANTHROPIC_API_KEY is set, then Claude is the default provider and model, and the demo model is off', () => {
    const { model } = loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-x' });
    assert.deepEqual([model.provider, model.name, model.useDemo, model.anthropic.maxTokens], ['anthropic', 'claude-sonnet-4-5', false, 8192]);
    assert.equal(loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-x', OPENAI_BASE_URL: 'http://localhost:11434/v1' }).model.provider, 'openai', 'both set: MODEL_PROVIDER decides, default openai');
  });

  test('when MODEL_FALLBACKS lists models, then they are kept in order with their attempts, Ollama tags and endpoints included', () => {
    const { model } = loadConfig({
      OPENAI_API_KEY: 'sk-x',
      ANTHROPIC_API_KEY: 'sk-ant-x',
      MODEL_FALLBACKS: ' anthropic:claude-haiku-4-5 , llama3.1:8b@http://localhost:11434/v1,openai:gpt-4o ',
      MODEL_FALLBACK_ATTEMPTS: '2',
    });
    assert.deepEqual(model.fallbacks, ['anthropic:claude-haiku-4-5', 'llama3.1:8b@http://localhost:11434/v1', 'openai:gpt-4o']);
    assert.equal(model.fallbackAttempts, 2);
    assert.equal(loadConfig({}).model.fallbackAttempts, 3);
  });

  test('when a model list is wrong, then loading fails naming the variable and never quoting a credential', () => {
    assert.throws(() => loadConfig({ MODEL_FALLBACKS: 'gpt-4o@https://user:s3cret-pass@example.com/v1' }), failsWith(/MODEL_FALLBACKS: .*credentials/, 's3cret-pass'));
    assert.throws(() => loadConfig({ MODEL_FALLBACKS: 'gpt-4o@https://' }), failsWith(/MODEL_FALLBACKS: .*not a URL/));
    assert.throws(() => loadConfig({ MODEL_FALLBACKS: 'anthropic:claude-haiku-4-5' }), failsWith(/MODEL_FALLBACKS: "claude-haiku-4-5" is an Anthropic model, but ANTHROPIC_API_KEY is not set/));
    assert.throws(() => loadConfig({ MODEL: 'gpt-4o', OPENAI_API_KEY: 'sk-x', MODEL_FALLBACKS: 'gpt-4o-mini,gpt-4o' }), failsWith(/listed twice \(or is MODEL itself\)/));
    assert.throws(() => loadConfig({ MODEL_PROVIDER: 'anthropic' }), failsWith(/MODEL_PROVIDER: anthropic needs ANTHROPIC_API_KEY/));
    assert.throws(() => loadConfig({ MODEL_PROVIDER: 'gemini' }), failsWith(/MODEL_PROVIDER/));
    assert.throws(() => loadConfig({ MODEL: 'anthropic:' , ANTHROPIC_API_KEY: 'sk-ant-x' }), failsWith(/MODEL: .*not a model reference/));
    assert.throws(() => loadConfig({ MODEL_FALLBACK_ATTEMPTS: '0' }), failsWith(/MODEL_FALLBACK_ATTEMPTS/));
  });
});

describe('finding the Temporal CLI', () => {
  const saved = { ...process.env };
  let scratch: string;

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cli-find-'));
    process.env.XDG_CACHE_HOME = join(scratch, 'cache');
    process.env.PATH = join(scratch, 'bin');
    delete process.env.TEMPORAL_CLI_PATH;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  const executable = (path: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '#!/bin/sh\necho temporal\n');
    chmodSync(path, 0o755);
    return path;
  };

  test('when TEMPORAL_CLI_PATH is set, then it wins over PATH and the cache', async () => {
    const fromEnv = executable(join(scratch, 'custom', 'temporal'));
    executable(join(scratch, 'bin', 'temporal'));
    process.env.TEMPORAL_CLI_PATH = fromEnv;
    assert.deepEqual(await findTemporalCli({ allowDownload: false }), { kind: 'path', path: fromEnv, source: 'TEMPORAL_CLI_PATH' });
  });

  test('when TEMPORAL_CLI_PATH points nowhere, then the error says so', async () => {
    process.env.TEMPORAL_CLI_PATH = join(scratch, 'missing');
    await assert.rejects(findTemporalCli({ allowDownload: false }), /TEMPORAL_CLI_PATH=.*missing is not a file/);
  });

  test('when temporal is on PATH, then it wins over the cache', async () => {
    const onPath = executable(join(scratch, 'bin', 'temporal'));
    executable(join(cliCacheDir(), 'temporal'));
    assert.deepEqual(await findTemporalCli({ allowDownload: false }), { kind: 'path', path: onPath, source: 'PATH' });
  });

  test('when only a cached build exists, then it is used', async () => {
    const cached = executable(join(cliCacheDir(), 'temporal'));
    assert.ok(cached.includes(`temporal-cli-${temporalCliVersion}`));
    assert.deepEqual(await findTemporalCli({ allowDownload: false }), { kind: 'path', path: cached, source: 'cache' });
  });

  test('when nothing is found, go is absent and downloads are off, then one message lists every option', async () => {
    await assert.rejects(findTemporalCli({ allowDownload: false }), (error: unknown) => {
      assert.ok(error instanceof TemporalCliNotFoundError);
      for (const option of ['PATH', 'TEMPORAL_CLI_PATH', 'install Go', 'TEMPORAL_ADDRESS']) assert.match(error.message, new RegExp(option));
      return true;
    });
  });

  test('when nothing is found and go is absent but downloads are allowed, then the SDK download is the last resort', async () => {
    assert.deepEqual(await findTemporalCli(), { kind: 'sdk-download' });
  });
});
