import { defaultLogFormat, logLevels, type LogSettings } from './telemetry/logger';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { chooseModels } from './activities/models/model-config';
import type { ToolSettings } from './activities/tools';
import { parsePayloadKeys, PayloadKeysError, type PayloadKeys } from './codec';
import { providerNames, type ProviderName } from './shared/model-ref';
import { defaultPrices } from './shared/default-prices';
import { parsePriceTable, PriceTableError, type PriceTable } from './shared/prices';
import { loadTemporalProfile, type TemporalSecurity } from './temporal/connect';
import { defaultMaxWorkflowTasks } from './temporal/workflow-task-slots';

// All configuration, read once from the environment and validated; a bad value fails fast with
// a message naming the variable. Tests pass their own env.

/** The OTLP/HTTP traces URL, as the OpenTelemetry spec derives it: the signal's own, or the base + /v1/traces. */
function tracesEndpoint(traces: string | undefined, base: string | undefined): { tracesEndpoint?: string } {
  if (traces) return { tracesEndpoint: traces };
  if (base) return { tracesEndpoint: `${base.replace(/\/+$/, '')}/v1/traces` };
  return {};
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const schema = z.object({
  LOG_LEVEL: z.enum(logLevels).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  METRICS: z.enum(['on', 'off']).default('on'),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: port(0),
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.pipe(z.url().optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalText.pipe(z.url().optional()),
  OTEL_SERVICE_NAME: optionalText,
  PORT: port(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./.data'),
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  TEMPORAL_UI_URL: optionalText.pipe(z.url().optional()),
  PUBLIC_URL: optionalText.pipe(z.url().optional()),
  TEMPORAL_CLI_PATH: optionalText,
  TASK_QUEUE: z.string().min(1).default('agent-turns'),
  OPENAI_BASE_URL: optionalText.pipe(z.url().optional()),
  OPENAI_API_KEY: optionalText,
  MODEL: optionalText,
  MODEL_PROVIDER: optionalText.pipe(z.enum(providerNames).optional()),
  MODEL_FALLBACKS: z.string().default(''),
  MODEL_FALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: optionalText.pipe(z.url().optional()),
  ANTHROPIC_MAX_TOKENS: z.coerce.number().int().min(1).max(1_000_000).default(8192),
  MODEL_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
  MODEL_CONTEXT_TOKENS: z.coerce.number().int().min(1024).max(100_000_000).default(128_000),
  MODEL_PRICES: optionalText,
  MODEL_PRICES_DEFAULTS: z.enum(['true', 'false', '1', '0', '']).default('true').transform((value) => value !== 'false' && value !== '0'),
  TOOL_RESULT_MAX_BYTES: z.coerce.number().int().min(1024).max(450_000).default(256 * 1024),
  TOOL_OUTPUT_MAX_BYTES: z.coerce.number().int().min(0).max(112_000).default(64 * 1024),
  RUN_HISTORY_MAX_EVENTS: z.coerce.number().int().min(200).max(9000).default(4000),
  RUN_HISTORY_MAX_BYTES: z.coerce.number().int().min(256 * 1024).max(6 * 1024 * 1024).default(4 * 1024 * 1024),
  MAX_STEPS_LIMIT: z.coerce.number().int().min(1).max(1000).default(50),
  MAX_INPUT_CHARS: z.coerce.number().int().min(1).default(100_000),
  TOOL_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  TOOL_ADAPTIVE_CONCURRENCY: z.enum(['true', 'false', '1', '0', '']).default('true').transform((value) => value !== 'false' && value !== '0'),
  TOOL_MAX_CONCURRENCY_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(64),
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(100),
  WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(1000).default(defaultMaxWorkflowTasks),
  WORKFLOW_STACK_TRACES: z.enum(['on', 'off']).default('off'),
  SESSION_CONTEXT_CHARS: z.coerce.number().int().min(1000).max(300_000).default(200_000),
  SESSION_HISTORY_LIMIT: z.coerce.number().int().min(100).default(2000),
  APPROVAL_TIMEOUT_MS: z.coerce.number().int().positive().default(24 * 60 * 60 * 1000),
  WORKSPACE_DIR: optionalText,
  MCP_CONFIG: optionalText,
  RELAY_SECRET: optionalText,
  RELAY_ALLOWED_HOSTS: z.string().default(''),
  RELAY_TLS_CERT_FILE: optionalText,
  RELAY_TLS_KEY_FILE: optionalText,
  RELAY_TLS_CA_FILE: optionalText,
  RELAY_TLS_REQUIRED: z.enum(['true', 'false', '1', '0', '']).default('false').transform((value) => value === 'true' || value === '1'),
  AUTH: z.enum(['auto', 'on', 'off']).default('auto'),
  API_KEYS: optionalText,
  API_KEYS_FILE: optionalText,
  CORS_ORIGINS: z.string().default(''),
  STREAM_TOKEN_SECRET: optionalText,
  PAYLOAD_KEYS: optionalText,
  ALLOWED_MODELS: z.string().default(''),
  MAX_STREAMS_PER_TENANT: z.coerce.number().int().min(1).default(1000),
  MAX_RUNNING_RUNS_PER_TENANT: z.coerce.number().int().min(0).default(200),
  RATE_LIMIT_WRITES_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  STREAM_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(900),
  STREAM_HOST: z.string().min(1).default('127.0.0.1'),
  STREAM_PORT: port(0),
  STREAM_ADVERTISE_URL: optionalText.pipe(z.url().optional()),
  HTTP_GET_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0', '']).default('false').transform((value) => value === 'true' || value === '1'),
  HTTP_GET_ALLOWED_HOSTS: z.string().default(''),
  HTTP_GET_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  HTTP_GET_MAX_BYTES: z.coerce.number().int().positive().default(1_000_000),
  HTTP_GET_CACHE_TTL_MS: z.coerce.number().int().refine((value) => value === 0 || (value >= 1000 && value <= 86_400_000), 'must be 0 (off) or 1000 to 86400000').default(60_000),
  DEMO_MODEL_PORT: port(0),
  DEMO_MODEL_FIRST_TOKEN_DELAY_MS: z.coerce.number().int().min(0).default(200),
  DEMO_MODEL_TOKEN_DELAY_MS: z.coerce.number().int().min(0).default(30),
});

export interface Config {
  /** LOG_LEVEL and LOG_FORMAT (default: pretty in a terminal, JSON otherwise). */
  log: LogSettings;
  /** Prometheus metrics (src/telemetry/metrics.ts) and OpenTelemetry traces (src/telemetry/tracing.ts). */
  telemetry: {
    /** METRICS=off: no /metrics, no counting. */
    metrics: boolean;
    /** Where a worker of its own (`npm run worker`) serves /metrics: METRICS_HOST, METRICS_PORT (0: any free port). */
    metricsHost: string;
    metricsPort: number;
    /** METRICS_TOKEN: the bearer token a worker's /metrics asks for (required off loopback). Never logged. */
    metricsToken?: string;
    /** OTLP/HTTP traces endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); unset: no traces. */
    tracesEndpoint?: string;
    /** OTEL_SERVICE_NAME (default: durable-agents-api, -worker, or durable-agents). */
    serviceName?: string;
  };
  port: number;
  host: string;
  /** Where people reach the API (PUBLIC_URL): links from the Temporal Web UI back to runs. Unset: where it listens. */
  publicUrl?: string;
  dataDir: string;
  temporal: {
    /** Set (TEMPORAL_ADDRESS or the temporal.toml profile): use this Temporal and start nothing. Unset: start the embedded dev server. */
    address?: string;
    namespace: string;
    /** TLS, API key and gRPC headers for `address`, from the profile (src/temporal/connect.ts). Never logged. */
    security: TemporalSecurity;
    port: number;
    uiPort: number;
    /** Base URL of the Web UI, for deep links. */
    uiUrl: string;
    cliPath?: string;
    taskQueue: string;
  };
  model: {
    /** Unset: the built-in demo model is started and used. */
    baseURL?: string;
    /** Never logged, never put into workflow inputs, results, heartbeats or events. */
    apiKey?: string;
    name: string;
    useDemo: boolean;
    timeoutMs: number;
    /** Context window (tokens) of the default model; a run can name its own. */
    contextTokens: number;
    /** MODEL_PROVIDER: where model names without a provider prefix go (src/shared/model-ref.ts). */
    provider: ProviderName;
    /** ANTHROPIC_*: the key is never logged, never put into workflow inputs, results, heartbeats or events. */
    anthropic: { baseURL?: string; apiKey?: string; maxTokens: number };
    /** MODEL_FALLBACKS: model references tried in order while the one before stays unavailable. */
    fallbacks: string[];
    /** MODEL_FALLBACK_ATTEMPTS: attempts each model gets before the next (with fallbacks). */
    fallbackAttempts: number;
    /** MODEL_PRICES over the shipped list prices (MODEL_PRICES_DEFAULTS): what the API reports costs with. */
    prices?: PriceTable;
  };
  demoModel: { port: number; firstTokenDelayMs: number; tokenDelayMs: number };
  limits: {
    maxSteps: number;
    maxInputChars: number;
    approvalTimeoutMs: number;
    history: { events: number; bytes: number };
    /** ALLOWED_MODELS: when set, runs may name only these models. */
    allowedModels?: string[];
    /** Open SSE streams per tenant on one API replica. */
    maxStreamsPerTenant?: number;
    /** Runs running at once per tenant, across replicas (Temporal visibility); 0 or unset: no cap. */
    maxRunningRunsPerTenant?: number;
    /** Writes (POSTs) per API key and minute on one API replica; 0 or unset: off. */
    writesPerMinute?: number;
  };
  toolConcurrency: number;
  /** WORKER_MAX_ACTIVITIES: model steps and tool calls one worker runs at once; more wait in Temporal's task queue. */
  /** WORKER_MAX_WORKFLOW_TASKS: workflow tasks one worker takes from its pollers at once (src/temporal/workflow-task-slots.ts). */
  /** WORKFLOW_STACK_TRACES=on: workflows record Temporal's stack trace of each promise, for the Stack Trace query (src/workflows/stack-traces-off.ts). */
  worker: { maxActivities: number; maxWorkflowTasks: number; stackTraces: boolean };
  session: { contextChars: number; historyLimit: number };
  tools: ToolSettings & { resultMaxBytes: number; outputMaxBytes: number };
  /** A JSON file listing MCP servers whose tools join the registry. */
  mcpConfigPath?: string;
  /** Between APIs and workers in split deployments. */
  relay: {
    secret?: string;
    host: string;
    port: number;
    advertiseUrl?: string;
    allowedHosts: string[];
    /** RELAY_TLS_CERT_FILE + RELAY_TLS_KEY_FILE (PEM contents): a worker serves its streams over HTTPS. Never logged. */
    serverTls?: { cert: string; key: string };
    /** An API: RELAY_TLS_CA_FILE (PEM), the only CA trusted for https:// streams (unset: the system roots); RELAY_TLS_REQUIRED refuses http:// ones. */
    clientTls: { ca?: string; required: boolean };
  };
  auth: {
    mode: 'auto' | 'on' | 'off';
    keys?: string;
    keysFile?: string;
    /** Browser origins allowed by CORS. */
    corsOrigins: string[];
    /** Signs stream tokens; unset: derived from RELAY_SECRET, or random per process. */
    streamTokenSecret?: string;
    streamTokenTtlSeconds: number;
  };
  /** PAYLOAD_KEYS: payloads are encrypted at rest in Temporal (src/codec). Never logged. */
  payloadKeys?: PayloadKeys;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Secrets that appeared in examples: anyone may know them. */
const knownExampleSecrets = ['change-me-to-a-long-random-string', 'change-me', 'secret'];

/** For `npm run worker` and `npm run api`, which talk to each other. */
export function requireSplitSettings(config: Config, role: 'worker' | 'api'): { address: string; secret: string } {
  const missing = [
    ...(config.temporal.address ? [] : ['TEMPORAL_ADDRESS (a running Temporal, host:port) or a temporal.toml profile with an address']),
    ...(config.relay.secret ? [] : ['RELAY_SECRET (the same long random string for every API and worker)']),
    ...(role === 'worker' && config.model.useDemo ? ['OPENAI_BASE_URL or OPENAI_API_KEY, or ANTHROPIC_API_KEY (the model endpoint)'] : []),
  ];
  if (missing.length > 0) {
    throw new ConfigError(`npm run ${role} needs ${missing.join(', ')}; \`npm start\` runs everything in one process without them.`);
  }
  const secret = config.relay.secret!;
  if (Buffer.byteLength(secret) < 32 || knownExampleSecrets.includes(secret)) {
    throw new ConfigError('RELAY_SECRET must be at least 32 bytes and not an example value: make one with `openssl rand -hex 32`');
  }
  return { address: config.temporal.address!, secret: config.relay.secret! };
}

/** PAYLOAD_KEYS parsed; its errors name key ids, never keys. */
function payloadKeysOf(text: string | undefined): PayloadKeys | undefined {
  if (text === undefined) return undefined;
  try {
    return parsePayloadKeys(text);
  } catch (error) {
    if (error instanceof PayloadKeysError) throw new ConfigError(`Invalid configuration:\n  ${error.message}`);
    throw error;
  }
}

/** RELAY_TLS_* read and checked now: a bad file stops the process at start, named by its variable, never quoted. */
function relayTls(values: { RELAY_TLS_CERT_FILE?: string; RELAY_TLS_KEY_FILE?: string; RELAY_TLS_CA_FILE?: string; RELAY_TLS_REQUIRED: boolean; STREAM_ADVERTISE_URL?: string }): Pick<Config['relay'], 'serverTls' | 'clientTls'> {
  const invalid = (variable: string, problem: string) => new ConfigError(`Invalid configuration:\n  ${variable}: ${problem}`);
  const read = (variable: string, file: string) => {
    try {
      return readFileSync(resolve(file), 'utf8');
    } catch (error) {
      throw invalid(variable, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const { RELAY_TLS_CERT_FILE: certFile, RELAY_TLS_KEY_FILE: keyFile, RELAY_TLS_CA_FILE: caFile } = values;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw invalid(certFile ? 'RELAY_TLS_KEY_FILE' : 'RELAY_TLS_CERT_FILE', 'the relay serves TLS with RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE together; set both or neither');
  }
  let serverTls: Config['relay']['serverTls'];
  if (certFile && keyFile) {
    const cert = read('RELAY_TLS_CERT_FILE', certFile);
    const key = read('RELAY_TLS_KEY_FILE', keyFile);
    let certificate: X509Certificate;
    let privateKey: ReturnType<typeof createPrivateKey>;
    try {
      certificate = new X509Certificate(cert);
    } catch {
      throw invalid('RELAY_TLS_CERT_FILE', `${certFile} is not a PEM certificate`);
    }
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw invalid('RELAY_TLS_KEY_FILE', `${keyFile} is not an unencrypted PEM private key`);
    }
    if (!certificate.checkPrivateKey(privateKey)) throw invalid('RELAY_TLS_KEY_FILE', `${keyFile} is not the key of the certificate in RELAY_TLS_CERT_FILE`);
    if (values.STREAM_ADVERTISE_URL && !values.STREAM_ADVERTISE_URL.startsWith('https://')) {
      throw invalid('STREAM_ADVERTISE_URL', 'the stream endpoint serves https (RELAY_TLS_CERT_FILE is set), so advertise its https:// address');
    }
    serverTls = { cert, key };
  }
  let ca: string | undefined;
  if (caFile) {
    ca = read('RELAY_TLS_CA_FILE', caFile);
    const certificates = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (/PRIVATE KEY-----/.test(ca)) throw invalid('RELAY_TLS_CA_FILE', `${caFile} holds a private key: give the API the CA's certificate only`);
    const parses = (pem: string) => {
      try {
        return Boolean(new X509Certificate(pem));
      } catch {
        return false;
      }
    };
    if (certificates.length === 0 || !certificates.every(parses)) throw invalid('RELAY_TLS_CA_FILE', `${caFile} is not a PEM file of CA certificates`);
  }
  return { serverTls, clientTls: { ca, required: values.RELAY_TLS_REQUIRED } };
}

/** MODEL_PRICES (JSON, or the path of a JSON file) over the shipped list prices; a bad table stops the process at start. */
function modelPrices(text: string | undefined, withDefaults: boolean): PriceTable {
  const defaults = new Map(withDefaults ? defaultPrices : []);
  if (text === undefined) return defaults;
  let json = text;
  if (!/^[[{]/.test(text)) {
    try {
      json = readFileSync(resolve(text), 'utf8');
    } catch (error) {
      throw new ConfigError(`Invalid configuration:\n  MODEL_PRICES: neither a JSON object nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'error'} reading ${text.slice(0, 200)})`);
    }
  }
  try {
    return parsePriceTable(json, defaults);
  } catch (error) {
    if (error instanceof PriceTableError) throw new ConfigError(`Invalid configuration:\n  MODEL_PRICES: ${error.message}`);
    throw error;
  }
}

/** The envconfig profile with the TEMPORAL_* variables over it; its errors never quote a secret. */
function temporalProfile(env: NodeJS.ProcessEnv) {
  try {
    return loadTemporalProfile(env);
  } catch (error) {
    throw new ConfigError(`Temporal connection: ${(error as Error).message}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const values = parsed.data;
  const models = chooseModels(values);
  if ('problems' in models) throw new ConfigError(`Invalid configuration:\n${models.problems.map((problem) => `  ${problem}`).join('\n')}`);
  const allowed = values.ALLOWED_MODELS.split(',').map((model) => model.trim()).filter(Boolean);
  const defaultModel = models.name;
  if (allowed.length > 0 && !allowed.includes(defaultModel)) {
    throw new ConfigError(`Invalid configuration:\n  MODEL: the default model "${defaultModel}" is not in ALLOWED_MODELS`);
  }
  const uiPort = values.TEMPORAL_UI_PORT ?? (values.TEMPORAL_PORT === 0 ? 0 : values.TEMPORAL_PORT + 1000);
  const temporal = temporalProfile(env);
  const payloadKeys = payloadKeysOf(values.PAYLOAD_KEYS);
  return {
    log: { level: values.LOG_LEVEL, format: values.LOG_FORMAT ?? defaultLogFormat() },
    telemetry: {
      metrics: values.METRICS === 'on',
      metricsHost: values.METRICS_HOST,
      metricsPort: values.METRICS_PORT,
      ...(values.METRICS_TOKEN ? { metricsToken: values.METRICS_TOKEN } : {}),
      ...tracesEndpoint(values.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, values.OTEL_EXPORTER_OTLP_ENDPOINT),
      ...(values.OTEL_SERVICE_NAME ? { serviceName: values.OTEL_SERVICE_NAME } : {}),
    },
    port: values.PORT,
    ...(values.PUBLIC_URL ? { publicUrl: values.PUBLIC_URL.replace(/\/+$/, '') } : {}),
    host: values.HOST,
    dataDir: resolve(values.DATA_DIR),
    temporal: {
      address: temporal.address,
      namespace: temporal.namespace ?? values.TEMPORAL_NAMESPACE,
      security: temporal.security,
      port: values.TEMPORAL_PORT,
      uiPort,
      uiUrl: (values.TEMPORAL_UI_URL ?? `http://localhost:${uiPort}`).replace(/\/+$/, ''),
      cliPath: values.TEMPORAL_CLI_PATH,
      taskQueue: values.TASK_QUEUE,
    },
    model: {
      baseURL: values.OPENAI_BASE_URL,
      apiKey: values.OPENAI_API_KEY,
      timeoutMs: values.MODEL_TIMEOUT_MS,
      contextTokens: values.MODEL_CONTEXT_TOKENS,
      prices: modelPrices(values.MODEL_PRICES, values.MODEL_PRICES_DEFAULTS),
      ...models,
    },
    demoModel: {
      port: values.DEMO_MODEL_PORT,
      firstTokenDelayMs: values.DEMO_MODEL_FIRST_TOKEN_DELAY_MS,
      tokenDelayMs: values.DEMO_MODEL_TOKEN_DELAY_MS,
    },
    limits: {
      maxSteps: values.MAX_STEPS_LIMIT,
      maxInputChars: values.MAX_INPUT_CHARS,
      approvalTimeoutMs: values.APPROVAL_TIMEOUT_MS,
      history: { events: values.RUN_HISTORY_MAX_EVENTS, bytes: values.RUN_HISTORY_MAX_BYTES },
      allowedModels: values.ALLOWED_MODELS.split(',').map((model) => model.trim()).filter(Boolean),
      maxStreamsPerTenant: values.MAX_STREAMS_PER_TENANT,
      maxRunningRunsPerTenant: values.MAX_RUNNING_RUNS_PER_TENANT,
      writesPerMinute: values.RATE_LIMIT_WRITES_PER_MINUTE,
    },
    toolConcurrency: values.TOOL_CONCURRENCY,
    worker: { maxActivities: values.WORKER_MAX_ACTIVITIES, maxWorkflowTasks: values.WORKER_MAX_WORKFLOW_TASKS, stackTraces: values.WORKFLOW_STACK_TRACES === 'on' },
    session: { contextChars: values.SESSION_CONTEXT_CHARS, historyLimit: values.SESSION_HISTORY_LIMIT },
    mcpConfigPath: values.MCP_CONFIG ? resolve(values.MCP_CONFIG) : undefined,
    relay: {
      secret: values.RELAY_SECRET,
      host: values.STREAM_HOST,
      port: values.STREAM_PORT,
      advertiseUrl: values.STREAM_ADVERTISE_URL,
      allowedHosts: values.RELAY_ALLOWED_HOSTS.split(',').map((host) => host.trim()).filter(Boolean),
      ...relayTls(values),
    },
    auth: {
      mode: values.AUTH,
      keys: values.API_KEYS,
      keysFile: values.API_KEYS_FILE ? resolve(values.API_KEYS_FILE) : undefined,
      corsOrigins: values.CORS_ORIGINS.split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter(Boolean),
      streamTokenSecret: values.STREAM_TOKEN_SECRET ?? values.RELAY_SECRET,
      streamTokenTtlSeconds: values.STREAM_TOKEN_TTL_SECONDS,
    },
    payloadKeys,
    tools: {
      resultMaxBytes: values.TOOL_RESULT_MAX_BYTES,
      outputMaxBytes: values.TOOL_OUTPUT_MAX_BYTES,
      workspaceDir: resolve(values.WORKSPACE_DIR ?? `${values.DATA_DIR}/workspace`),
      concurrency: { adaptive: values.TOOL_ADAPTIVE_CONCURRENCY, maxPerKey: values.TOOL_MAX_CONCURRENCY_PER_KEY },
      httpGet: {
        allowPrivate: values.HTTP_GET_ALLOW_PRIVATE,
        allowedHosts: values.HTTP_GET_ALLOWED_HOSTS.split(',').map((host) => host.trim()).filter(Boolean),
        timeoutMs: values.HTTP_GET_TIMEOUT_MS,
        maxBytes: values.HTTP_GET_MAX_BYTES,
        cacheTtlMs: values.HTTP_GET_CACHE_TTL_MS,
      },
    },
  };
}
