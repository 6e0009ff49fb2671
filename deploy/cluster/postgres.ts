import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureDebianPackage } from '../debian';
import { Supervised } from './supervised';

// PostgreSQL for the cluster: Debian's packages (installed when missing), a data directory of the
// cluster's own (never the machine's main PostgreSQL), listening on loopback TCP only, with a
// password for the `temporal` role. As root, PostgreSQL runs as the `postgres` user (it refuses
// root), so its data lives where that user can reach it.

const binDirs = () => (existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)).map((version) => join('/usr/lib/postgresql', version, 'bin')) : []);
const binDir = () => binDirs().find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')));

/** A program of Debian's PostgreSQL (pg_dump, pg_restore, psql), installed first when missing. */
export function postgresProgram(name: string): string {
  ensureDebianPackage('postgres', 'postgresql', () => binDir() !== undefined);
  return join(binDir()!, name);
}

export interface PostgresOptions {
  dataDir: string;
  host: string;
  port: number;
  user: string;
  password: string;
  log: (line: string) => void;
  logFile: string;
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL program as the user PostgreSQL runs as. */
function asPostgres(program: string, args: string[]): { command: string; args: string[] } {
  return asRoot() ? { command: 'runuser', args: ['-u', 'postgres', '--', program, ...args] } : { command: program, args };
}

/** Creates the data directory on first use (initdb, the role and its password), then starts PostgreSQL. */
export async function startPostgres(options: PostgresOptions): Promise<Supervised> {
  ensureDebianPackage('postgres', 'postgresql', () => binDir() !== undefined);
  const bin = binDir()!;
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    // Its parents must let PostgreSQL's user through; the data directory is its alone.
    mkdirSync(dirname(options.dataDir), { recursive: true, mode: 0o755 });
    mkdirSync(options.dataDir, { mode: 0o700 });
    const passwordDir = mkdtempSync(join(tmpdir(), 'durable-agents-pg-'));
    const passwordFile = join(passwordDir, 'password');
    writeFileSync(passwordFile, `${options.password}\n`, { mode: 0o600 });
    try {
      if (asRoot()) {
        const postgres = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
        const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
        const [uid, gid] = [Number(postgres.stdout), Number(group.stdout)];
        chownSync(options.dataDir, uid, gid);
        chownSync(passwordDir, uid, gid);
        chownSync(passwordFile, uid, gid);
      }
      chmodSync(options.dataDir, 0o700);
      const { command, args } = asPostgres(join(bin, 'initdb'), ['-D', options.dataDir, '-U', options.user, `--pwfile=${passwordFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--no-instructions']);
      const result = spawnSync(command, args, { encoding: 'utf8' });
      if (result.status !== 0) {
        rmSync(options.dataDir, { recursive: true, force: true });
        throw new Error(`initdb failed (${result.status}): ${(result.stderr || result.stdout).slice(-1000)}`);
      }
      options.log(`postgresql: created ${options.dataDir}`);
    } finally {
      rmSync(passwordDir, { recursive: true, force: true });
    }
  }
  const { command, args } = asPostgres(join(bin, 'postgres'), [
    '-D', options.dataDir,
    '-c', `listen_addresses=${options.host}`,
    '-p', String(options.port),
    // TCP only: no socket file in a shared directory.
    '-c', 'unix_socket_directories=',
    // Temporal's two nodes hold up to 2 x (20 + 10) connections, and the schema tool more.
    '-c', 'max_connections=200',
  ]);
  const postgres = new Supervised({ name: 'postgresql', command, args, logFile: options.logFile, stopSignal: 'SIGINT' });
  await postgres.start();
  await postgres.waitForPort(options.host, options.port, 60_000);
  return postgres;
}
