import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parsePayloadKeys } from '../../src/codec/payload-keys';
import { temporalServerVersion } from './binaries';
import { freePort } from '../../src/temporal/free-port';
import { postgresProgram, startPostgres } from './postgres';
import { readSecrets, type ClusterSecrets } from './secrets';

// Backups of a local cluster (`npm run cluster:backup`) and their restore into a new one
// (`CLUSTER_RESTORE=<backup> npm run cluster`): a logical dump (pg_dump, custom format) of each of
// Temporal's two databases, taken while the cluster is stopped, so that the two agree with each
// other (docs/operations.md, Backups). A manifest says what the restore must match: the history
// shard count (fixed when the database was made) and the payload keys (by fingerprint: a backup
// holds no secret, and without the keys its payloads cannot be read).

export const databases = ['temporal', 'temporal_visibility'] as const;

export interface BackupManifest {
  format: 1;
  createdAt: string;
  temporalServer: string;
  postgres: string;
  numHistoryShards: number;
  databases: string[];
  /** `id:sha256-prefix` of each key in PAYLOAD_KEYS when the backup was taken. */
  payloadKeys: string[];
}

/** A key's fingerprint: its id and the first 64 bits of SHA-256 over its bytes (the key cannot be found from it). */
export function payloadKeyFingerprints(payloadKeys: string): string[] {
  return [...parsePayloadKeys(payloadKeys).byId].map(([id, key]) => `${id}:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
}

/** A PostgreSQL client program with the cluster's password in its environment (never its arguments). */
function runPostgresClient(program: string, args: string[], password: string): string {
  const result = spawnSync(postgresProgram(program), args, { encoding: 'utf8', env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' }, maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new Error(`${program}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${program} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
  return result.stdout;
}

/** The pid in PostgreSQL's lock file, when that process still runs. */
function runningPostgres(dataDir: string): number | undefined {
  const lockFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const pid = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

export interface BackupOptions {
  /** The cluster's directory (secrets.env, logs/). */
  dir: string;
  postgresDataDir: string;
  /** Where the backup goes: a new or empty directory. */
  out: string;
  log: (line: string) => void;
}

/** Dumps a stopped cluster's two databases into `out`, with a manifest. */
export async function backupCluster(options: BackupOptions): Promise<BackupManifest> {
  const { dir, postgresDataDir, log } = options;
  const out = resolve(options.out);
  if (!existsSync(join(postgresDataDir, 'PG_VERSION'))) throw new Error(`no cluster database in ${postgresDataDir}: is CLUSTER_DIR the cluster's directory?`);
  const pid = runningPostgres(postgresDataDir);
  if (pid !== undefined) {
    throw new Error(`the cluster's PostgreSQL is running (pid ${pid}): stop the cluster first (SIGTERM or Ctrl-C to npm run cluster). Dumps of a running cluster's two databases would not agree with each other.`);
  }
  if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`${out} is not empty: give the backup a new directory`);
  const secrets = readSecrets(join(dir, 'secrets.env'));
  mkdirSync(out, { recursive: true, mode: 0o700 });
  chmodSync(out, 0o700);
  const host = '127.0.0.1';
  const port = await freePort(host);
  const postgres = await startPostgres({ dataDir: postgresDataDir, host, port, user: 'temporal', password: secrets.POSTGRES_PWD, log, logFile: join(dir, 'logs', 'postgresql-backup.log') });
  try {
    const connection = ['--host', host, '--port', String(port), '--username', 'temporal', '--no-password'];
    const shards = Number(runPostgresClient('psql', [...connection, '--dbname', 'temporal', '--tuples-only', '--no-align', '--command', 'SELECT count(*) FROM shards'], secrets.POSTGRES_PWD).trim());
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`the temporal database has no history shards (${shards}): was the cluster ever started?`);
    for (const database of databases) {
      runPostgresClient('pg_dump', [...connection, '--format', 'custom', '--file', join(out, `${database}.dump`), database], secrets.POSTGRES_PWD);
      log(`backup: ${database} -> ${join(out, `${database}.dump`)}`);
    }
    const manifest: BackupManifest = {
      format: 1,
      createdAt: new Date().toISOString(),
      temporalServer: temporalServerVersion,
      postgres: readFileSync(join(postgresDataDir, 'PG_VERSION'), 'utf8').trim(),
      numHistoryShards: shards,
      databases: [...databases],
      payloadKeys: payloadKeyFingerprints(secrets.PAYLOAD_KEYS),
    };
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    return manifest;
  } finally {
    await postgres.stop();
  }
}

/** Reads a backup's manifest and checks that a cluster with these secrets and shards can restore it. */
export function checkRestore(backup: string, secrets: ClusterSecrets, numHistoryShards: number | undefined, secretsFile: string): BackupManifest {
  const manifestFile = join(resolve(backup), 'manifest.json');
  if (!existsSync(manifestFile)) throw new Error(`${backup} is not a backup of npm run cluster:backup (no manifest.json)`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
  if (manifest.format !== 1 || !Array.isArray(manifest.payloadKeys) || !Number.isInteger(manifest.numHistoryShards)) throw new Error(`${manifestFile} is not a manifest this version reads`);
  for (const database of databases) {
    if (!existsSync(join(resolve(backup), `${database}.dump`))) throw new Error(`${backup} has no ${database}.dump`);
  }
  if (numHistoryShards !== undefined && numHistoryShards !== manifest.numHistoryShards) {
    throw new Error(`the backup was made with ${manifest.numHistoryShards} history shards and NUM_HISTORY_SHARDS is ${numHistoryShards}: Temporal cannot change it; leave NUM_HISTORY_SHARDS unset or set it to ${manifest.numHistoryShards}`);
  }
  const have = new Set(payloadKeyFingerprints(secrets.PAYLOAD_KEYS));
  const missing = manifest.payloadKeys.filter((fingerprint) => !have.has(fingerprint));
  if (missing.length > 0) {
    const ids = missing.map((fingerprint) => fingerprint.slice(0, fingerprint.lastIndexOf(':')));
    throw new Error(`the backup's payloads are encrypted with keys that PAYLOAD_KEYS in ${secretsFile} does not have (${ids.join(', ')}): copy the old cluster's secrets.env there before restoring`);
  }
  return manifest;
}

/** Restores a backup's databases into the new cluster's empty PostgreSQL. */
export function restoreDatabases(backup: string, connection: { host: string; port: number; password: string }, log: (line: string) => void): void {
  for (const database of databases) {
    const file = join(resolve(backup), `${database}.dump`);
    // --create makes the database under its own name; --no-owner: the new cluster's role owns it.
    runPostgresClient('pg_restore', ['--host', connection.host, '--port', String(connection.port), '--username', 'temporal', '--no-password', '--create', '--no-owner', '--exit-on-error', '--dbname', 'postgres', file], connection.password);
    log(`restore: ${database} from ${file}`);
  }
}
