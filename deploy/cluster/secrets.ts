import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseEnv } from 'node:util';

// The cluster's secrets: made once with a strong random source and kept in a file only its owner
// can read (the cluster's directory, secrets.env), so that a restart of the cluster finds its
// database, its encrypted payloads and its API key again. Printed nowhere: the start-up lines say
// where the file is.

export interface ClusterSecrets {
  /** The `temporal` role's password in the cluster's PostgreSQL. */
  POSTGRES_PWD: string;
  /** Shared by every worker and API (relay authentication, stream-token signing). */
  RELAY_SECRET: string;
  /** `local:<key>`: the API key of the cluster's one tenant. */
  API_KEYS: string;
  /** `k1:<base64>`: payloads are encrypted at rest in Temporal's database. */
  PAYLOAD_KEYS: string;
}

const make = (): ClusterSecrets => ({
  POSTGRES_PWD: randomBytes(24).toString('hex'),
  RELAY_SECRET: randomBytes(32).toString('hex'),
  API_KEYS: `local:${randomBytes(24).toString('hex')}`,
  PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`,
});

export function loadOrCreateSecrets(file: string): ClusterSecrets {
  const fresh = make();
  const kept = existsSync(file) ? (parseEnv(readFileSync(file, 'utf8')) as Partial<ClusterSecrets>) : {};
  const secrets: ClusterSecrets = { ...fresh, ...kept };
  if (Object.keys(fresh).some((key) => kept[key as keyof ClusterSecrets] === undefined)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const lines = Object.entries(secrets).map(([key, value]) => `${key}=${value}`);
    writeFileSync(file, `# The local cluster's secrets (npm run cluster). Keep this file private.\n${lines.join('\n')}\n`, { mode: 0o600 });
  }
  return secrets;
}

/** A cluster's secrets as they are (a backup reads them; it never makes new ones). */
export function readSecrets(file: string): ClusterSecrets {
  if (!existsSync(file)) throw new Error(`no ${file}: is CLUSTER_DIR the cluster's directory?`);
  const kept = parseEnv(readFileSync(file, 'utf8')) as Partial<ClusterSecrets>;
  const missing = Object.keys(make()).filter((key) => !kept[key as keyof ClusterSecrets]);
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.join(', ')}`);
  return kept as ClusterSecrets;
}

/** The API key in API_KEYS (`tenant:key`). */
export const apiKeyOf = (secrets: ClusterSecrets) => secrets.API_KEYS.slice(secrets.API_KEYS.indexOf(':') + 1);
