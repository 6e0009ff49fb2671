import { existsSync } from 'node:fs';
import type { ConnectionOptions, Metadata, TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

// Where Temporal is and how to reach it securely, read the way the Temporal CLI and every SDK read
// it (@temporalio/envconfig): a profile of temporal.toml (TEMPORAL_CONFIG_FILE, default
// ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, default "default") with the TEMPORAL_*
// variables over it (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA, TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA,
// TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*).
// Every connection of the project, client or worker, gets its options here.

/** TLS, API key and gRPC headers: the same for the client and the worker connections. Holds secrets: never logged. */
export interface TemporalSecurity {
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Metadata;
}

export interface TemporalProfile {
  /** Unset: no Temporal is configured (`npm start` starts the embedded one). */
  address?: string;
  namespace?: string;
  security: TemporalSecurity;
}

/** A message safe to print: names settings, files and lines, never a key or a certificate. */
export class TemporalProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalProfileError';
  }
}

/** Reads the profile once, with the certificate and key files it names (a missing one fails here, not at connect). */
export function loadTemporalProfile(env: NodeJS.ProcessEnv = process.env): TemporalProfile {
  const variables = withoutBlanks(env);
  const file = variables.TEMPORAL_CONFIG_FILE;
  // envconfig takes a missing file for an empty one; a file named on purpose must exist.
  if (file !== undefined && !existsSync(file)) throw new TemporalProfileError(`TEMPORAL_CONFIG_FILE: no file at ${file}`);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: variables });
  } catch (error) {
    throw new TemporalProfileError(safeMessage(error, file ?? 'the Temporal config file (~/.config/temporalio/temporal.toml)'));
  }
  if ((profile.tls?.clientCert === undefined) !== (profile.tls?.clientKey === undefined)) {
    throw new TemporalProfileError(
      'a TLS client certificate needs its key and a key its certificate (TEMPORAL_TLS_CLIENT_CERT_PATH with TEMPORAL_TLS_CLIENT_KEY_PATH, or client_cert_* with client_key_* in temporal.toml)',
    );
  }
  let options: ReturnType<typeof toClientOptions>;
  try {
    // Reads the certificate and key files; TLS is on when the profile has TLS settings or an API key.
    options = toClientOptions(profile);
  } catch (error) {
    throw new TemporalProfileError(`TLS files of the Temporal profile: ${safeMessage(error, 'a TLS file')}`);
  }
  const { address, apiKey, tls, metadata } = options.connectionOptions;
  const security: TemporalSecurity = {};
  if (tls !== undefined && tls !== null) security.tls = tls;
  if (apiKey !== undefined) security.apiKey = apiKey;
  if (metadata !== undefined && Object.keys(metadata).length > 0) security.metadata = metadata;
  return { address, namespace: options.namespace, security };
}

/** Options for `Connection.connect` (the API, replay, `npm start`'s client). */
export function clientConnectionOptions(address: string, security: TemporalSecurity = {}): ConnectionOptions {
  return { address, ...security };
}

/** Options for `NativeConnection.connect` (workers, and the client that starts runs eagerly on them). */
export function nativeConnectionOptions(address: string, security: TemporalSecurity = {}): NativeConnectionOptions {
  return { address, ...security };
}

/**
 * Blank values count as unset, as everywhere in this project's configuration: a blank
 * TEMPORAL_API_KEY would otherwise turn TLS on. A blank TEMPORAL_GRPC_META_* keeps its meaning
 * (it removes that header from the profile).
 */
function withoutBlanks(env: NodeJS.ProcessEnv): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith('TEMPORAL_GRPC_META_')) variables[name] = value;
    else if (value.trim() !== '') variables[name] = name.startsWith('TEMPORAL_') ? value.trim() : value;
  }
  return variables;
}

/** The TOML parser quotes the offending lines of the file, which may hold an api_key: only the position is kept. */
function safeMessage(error: unknown, source: string): string {
  const problem = error as { name?: string; message?: string; line?: unknown; column?: unknown };
  if (problem.name === 'TomlError' || typeof problem.line === 'number') {
    return `${source} is not valid TOML (line ${String(problem.line)}, column ${String(problem.column)})`;
  }
  return problem.message ?? String(error);
}
