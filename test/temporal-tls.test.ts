import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from '../src/config';
import { demoResponder } from '../src/demo-model/demo-script';
import { startModelServer, type ModelServer } from '../src/demo-model/server';
import { clientConnectionOptions, nativeConnectionOptions } from '../src/temporal/connect';
import { makeCertificates, type Certificates } from './helpers/certificates';
import { startChild, type Child } from './helpers/processes';
import { readSse } from './helpers/sse';
import { startTestStack } from './helpers/stack';
import { startTemporal, type TestTemporal } from './helpers/temporal';
import { startTlsProxy, type TlsProxy } from './helpers/tls-proxy';

// Temporal behind TLS (nginx in front of a dev server, as a load balancer or Temporal Cloud would
// be): every connection of the project takes its TLS, client certificate and API key from
// @temporalio/envconfig, through environment variables or a temporal.toml profile.

const fast = { firstTokenDelayMs: 0, tokenDelayMs: 0 };
const apiKey = `test-key-${randomBytes(12).toString('hex')}`;
let directory: string;
let certificates: Certificates;
let environment: TestTemporal;
let proxy: TlsProxy;
let model: ModelServer;
const children: Child[] = [];

before(
  async () => {
    directory = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
    certificates = makeCertificates(directory);
    environment = await startTemporal();
    proxy = await startTlsProxy({ upstream: environment.address, certificates, apiKey, directory });
    model = await startModelServer(demoResponder(fast));
  },
  { timeout: 180_000 },
);

after(async () => {
  await Promise.all(children.map((child) => child.stop()));
  await proxy?.stop();
  await model?.close();
  await environment?.teardown();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** The environment of a process that reaches Temporal through the mTLS endpoint by variables alone. */
const mtlsVariables = () => ({
  TEMPORAL_ADDRESS: proxy.mtlsAddress,
  TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCert,
  TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKey,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert,
});

/** A child's environment without whatever Temporal settings the test runner itself was given. */
function childEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));
  return { ...inherited, ...variables };
}

async function connect(config: Config) {
  const { address, security } = config.temporal;
  assert.ok(address, 'the profile names the endpoint');
  const connection = await Connection.connect(clientConnectionOptions(address, security));
  const nativeConnection = await NativeConnection.connect(nativeConnectionOptions(address, security)).catch(async (error) => {
    await connection.close();
    throw error;
  });
  return { connection, nativeConnection };
}

/** The project's worker and API on connections made from `config`: one run, start to finish. Returns its id. */
async function completeRun(config: Config): Promise<string> {
  const { connection, nativeConnection } = await connect(config);
  const namespace = config.temporal.namespace;
  const logBefore = proxy.accessLog().length;
  try {
    const stack = await startTestStack(environment, demoResponder(fast), {
      client: new Client({ connection, namespace }),
      eagerClient: new Client({ connection: nativeConnection, namespace }),
      nativeConnection,
      namespace,
    });
    try {
      const started = await stack.post('/v1/runs', { input: 'What is 12*7?' });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const { events } = await readSse(`${stack.url}/v1/runs/${started.body.runId}/events`);
      assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
      assert.match(events.at(-1)!.data.output, /84/);
      // The worker's own calls went through the proxy, not around it.
      assert.match(proxy.accessLog().slice(logBefore), /RespondWorkflowTaskCompleted/);
      return started.body.runId as string;
    } finally {
      await stack.close();
    }
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

/** Rejects when `promise` does not settle in time, so a hanging connect fails the test instead of stalling it. */
function within<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${milliseconds} ms`)), milliseconds)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let runThroughTls: string;

describe('Temporal behind TLS with a client certificate (mTLS)', () => {
  test('when TEMPORAL_ADDRESS and TEMPORAL_TLS_* name the endpoint and the client certificate, then a client and a worker complete a run through it', { timeout: 120_000 }, async () => {
    const config = loadConfig(mtlsVariables());
    assert.equal(config.temporal.address, proxy.mtlsAddress);
    runThroughTls = await completeRun(config);
  });

  test('when a temporal.toml profile names them (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), then a client and a worker complete a run through it', { timeout: 120_000 }, async () => {
    const file = join(directory, 'temporal.toml');
    const caPem = readFileSync(certificates.caCert, 'utf8');
    writeFileSync(
      file,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"',
        '',
        '[profile.behind-nginx]',
        `address = "${proxy.mtlsAddress}"`,
        'namespace = "default"',
        '',
        '[profile.behind-nginx.tls]',
        'server_name = "localhost"',
        `client_cert_path = "${certificates.clientCert}"`,
        `client_key_path = "${certificates.clientKey}"`,
        `server_ca_cert_data = """\n${caPem}"""`,
        '',
      ].join('\n'),
    );
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'behind-nginx' });
    assert.equal(config.temporal.address, proxy.mtlsAddress);
    assert.equal(config.temporal.namespace, 'default');
    await completeRun(config);
  });

  test('when the client certificate is left out, then neither the client nor the worker connection is let through', { timeout: 60_000 }, async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _cert, TEMPORAL_TLS_CLIENT_KEY_PATH: _key, ...withoutCertificate } = mtlsVariables();
    const { address, security } = loadConfig(withoutCertificate).temporal;
    // nginx answers 400 (no required SSL certificate was sent).
    await assert.rejects(within(Connection.connect({ ...clientConnectionOptions(address!, security), connectTimeout: '10s' }), 30_000), (error: Error) => {
      assert.match(String((error.cause as Error | undefined)?.message), /HTTP status code 400/);
      return true;
    });
    await assert.rejects(within(NativeConnection.connect(nativeConnectionOptions(address!, security)), 30_000), /400 Bad Request/);
  });

  test('when npm run replay is given the endpoint and the certificate in variables, then it replays a run through it', { timeout: 120_000 }, async () => {
    assert.ok(runThroughTls, 'the first test ran a run');
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'src/replay-run.ts', runThroughTls], { env: childEnvironment(mtlsVariables()), timeout: 100_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
      ),
    );
    assert.match(output, new RegExp(`replayed ${runThroughTls}: \\d+ history events, reproduced by the current code`));
  });
});

describe('Temporal behind TLS with an API key (as Temporal Cloud)', () => {
  const apiKeyVariables = () => ({ TEMPORAL_ADDRESS: proxy.apiKeyAddress, TEMPORAL_API_KEY: apiKey, TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert });

  test('when TEMPORAL_API_KEY is set, then TLS is on and the key is sent; a wrong key is refused without being quoted', { timeout: 60_000 }, async () => {
    const config = loadConfig(apiKeyVariables());
    assert.ok(config.temporal.security.tls, 'an API key turns TLS on');
    const { connection, nativeConnection } = await connect(config);
    await connection.close();
    await nativeConnection.close();

    const wrongKey = `wrong-${randomBytes(12).toString('hex')}`;
    const { address, security } = loadConfig({ ...apiKeyVariables(), TEMPORAL_API_KEY: wrongKey }).temporal;
    await assert.rejects(within(Connection.connect({ ...clientConnectionOptions(address!, security), connectTimeout: '10s' }), 30_000), (error: Error) => {
      const cause = error.cause as Error | undefined;
      assert.match(String(cause?.message), /UNAUTHENTICATED: Received HTTP status code 401/);
      assert.ok(![error.message, error.stack, cause?.message, cause?.stack].some((text) => text?.includes(wrongKey)), 'the key is not in the error');
      return true;
    });
    await assert.rejects(within(NativeConnection.connect(nativeConnectionOptions(address!, security)), 30_000), (error: Error) => {
      assert.match(error.message, /401 Unauthorized/);
      assert.ok(!error.message.includes(wrongKey) && !String(error.stack).includes(wrongKey), 'the key is not in the error');
      return true;
    });
  });

  test('when npm run worker and npm run api get the endpoint and the key in variables, then they complete a run and never print the key', { timeout: 150_000 }, async () => {
    const taskQueue = `tls-${randomUUID()}`;
    const common = { ...apiKeyVariables(), RELAY_SECRET: randomBytes(32).toString('hex'), OPENAI_BASE_URL: model.baseURL, TASK_QUEUE: taskQueue };
    const worker = startChild('src/worker.ts', { ...common, STREAM_PORT: '0' });
    const api = startChild('src/api/server.ts', { ...common, PORT: '0' });
    children.push(worker, api);
    await worker.waitFor(/worker polling/, 100_000);
    const apiUrl = (await api.waitFor(/API: (http:\/\/\S+)/, 100_000))[1]!;
    const response = await fetch(`${apiUrl}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'What is 6*7?' }) });
    assert.equal(response.status, 202, await response.clone().text());
    const { runId } = (await response.json()) as { runId: string };
    const { events } = await readSse(`${apiUrl}/v1/runs/${runId}/events`);
    assert.equal(events.at(-1)?.event, 'run.completed', JSON.stringify(events.at(-1)));
    assert.match(events.at(-1)!.data.output, /42/);
    await Promise.all([worker.stop(), api.stop()]);
    for (const child of [worker, api]) assert.ok(!child.output().includes(apiKey), 'the API key is never printed');
  });
});

describe('the Temporal profile in the configuration', () => {
  test('when TEMPORAL_ADDRESS is unset and no profile names one, then no address is configured (npm start runs the embedded server) and the connection is plain', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: ' ', TEMPORAL_API_KEY: '' });
    assert.equal(config.temporal.address, undefined);
    assert.equal(config.temporal.namespace, 'default');
    assert.deepEqual(config.temporal.security, {});
  });

  test('when variables are set over a profile, then they win over its values', () => {
    const file = join(directory, 'override.toml');
    writeFileSync(file, '[profile.default]\naddress = "temporal.example:7233"\nnamespace = "from-file"\napi_key = "from-file"\n');
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'from-env', TEMPORAL_TLS: 'false' });
    assert.equal(config.temporal.address, 'temporal.example:7233');
    assert.equal(config.temporal.namespace, 'from-env');
    assert.equal(config.temporal.security.tls, false);
    assert.equal(config.temporal.security.apiKey, 'from-file');
  });

  test('when the profile cannot be used, then the configuration fails fast without quoting a key', () => {
    const secret = `secret-${randomBytes(8).toString('hex')}`;
    const broken = join(directory, 'broken.toml');
    writeFileSync(broken, `[profile.default]\naddress = "temporal.example:7233"\napi_key = "${secret}\n`);
    assert.throws(
      () => loadConfig({ TEMPORAL_CONFIG_FILE: broken }),
      (error: Error) => error instanceof ConfigError && /broken\.toml is not valid TOML \(line 3/.test(error.message) && !error.message.includes(secret),
    );
    assert.throws(() => loadConfig({ TEMPORAL_CONFIG_FILE: join(directory, 'missing.toml') }), /TEMPORAL_CONFIG_FILE: no file at/);
    assert.throws(() => loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCert }), /needs its key/);
    assert.throws(() => loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_PROFILE: 'absent' }), /Profile 'absent' not found/);
  });
});
