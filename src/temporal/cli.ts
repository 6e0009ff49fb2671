import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { delimiter, join } from 'node:path';

// Finds a Temporal CLI binary (the dev server lives in it), in this order:
// TEMPORAL_CLI_PATH; `temporal` on PATH; our cached build; a Go build into that cache;
// else the SDK's own download (machines with internet).

export const temporalCliVersion = '1.5.1';
const modulePath = 'github.com/temporalio/cli/cmd/temporal';
const exe = platform() === 'win32' ? 'temporal.exe' : 'temporal';

export type TemporalCli =
  | { kind: 'path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'go-build' }
  | { kind: 'sdk-download' };

export class TemporalCliNotFoundError extends Error {
  constructor(reasons: string[]) {
    super(
      [
        'No Temporal CLI found, and none could be built or downloaded.',
        ...reasons.map((reason) => `  - ${reason}`),
        'Options:',
        '  1. install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH;',
        '  2. set TEMPORAL_CLI_PATH to a temporal binary;',
        `  3. install Go (1.23+) and rerun: the CLI v${temporalCliVersion} is built once into ${cliCacheDir()};`,
        '  4. set TEMPORAL_ADDRESS to a running Temporal (host:port) and nothing is started.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

export function cliCacheDir(): string {
  const base =
    process.env.XDG_CACHE_HOME ||
    (platform() === 'darwin'
      ? join(homedir(), 'Library', 'Caches')
      : platform() === 'win32'
        ? process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local')
        : join(homedir(), '.cache'));
  return join(base, 'durable-agents', `temporal-cli-${temporalCliVersion}`);
}

function isExecutableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export interface FindOptions {
  /** Receives progress lines of a Go build; default: stderr. */
  log?: (line: string) => void;
  /** Allow the SDK's download as the last resort (needs internet). */
  allowDownload?: boolean;
}

export async function findTemporalCli(options: FindOptions = {}): Promise<TemporalCli> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reasons: string[] = [];
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return { kind: 'path', path: fromEnv, source: 'TEMPORAL_CLI_PATH' };
    throw new TemporalCliNotFoundError([`TEMPORAL_CLI_PATH=${fromEnv} is not a file`]);
  }
  const fromPath = onPath(exe);
  if (fromPath) return { kind: 'path', path: fromPath, source: 'PATH' };
  reasons.push('`temporal` is not on PATH');

  const cached = join(cliCacheDir(), exe);
  if (isExecutableFile(cached)) return { kind: 'path', path: cached, source: 'cache' };
  reasons.push(`no cached build at ${cached}`);

  const go = onPath(platform() === 'win32' ? 'go.exe' : 'go');
  if (go) {
    try {
      await buildWithGo(go, cached, log);
      return { kind: 'path', path: cached, source: 'go-build' };
    } catch (error) {
      reasons.push(`the Go build failed: ${(error as Error).message}`);
    }
  } else {
    reasons.push('`go` is not on PATH, so the CLI cannot be built from source');
  }
  if (options.allowDownload !== false) return { kind: 'sdk-download' };
  throw new TemporalCliNotFoundError(reasons);
}

/**
 * `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into a private directory, then an
 * atomic rename into the cache, so concurrent builds never leave a half-written binary.
 * -checklinkname=0: newer Go refuses the linkname uses of this release's dependencies.
 */
async function buildWithGo(go: string, target: string, log: (line: string) => void): Promise<void> {
  const dir = cliCacheDir();
  mkdirSync(dir, { recursive: true });
  const gobin = mkdtempSync(join(dir, 'build-'));
  const ldflags = `-checklinkname=0 -X github.com/temporalio/cli/temporalcli.Version=${temporalCliVersion}`;
  log(
    `[temporal-cli] building Temporal CLI v${temporalCliVersion} from source with ${go} ` +
      '(first run only; this takes a few minutes)...',
  );
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', '-v', `-ldflags=${ldflags}`, `${modulePath}@v${temporalCliVersion}`], {
        env: { ...process.env, GOBIN: gobin },
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      let packages = 0;
      let tail = '';
      const timer = setInterval(() => {
        log(`[temporal-cli] still building: ${packages} packages so far, ${Math.round((Date.now() - started) / 1000)} s`);
      }, 15_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        for (const line of text.split('\n')) {
          if (!line) continue;
          if (line.startsWith('go: downloading')) log(`[temporal-cli] ${line}`);
          else packages++;
          tail = `${tail}\n${line}`.slice(-2000);
        }
      });
      child.on('error', (error) => {
        clearInterval(timer);
        reject(error);
      });
      child.on('exit', (code) => {
        clearInterval(timer);
        if (code === 0) resolve();
        else reject(new Error(`go install exited with ${code}:${tail}`));
      });
    });
    const built = join(gobin, exe);
    if (!existsSync(built)) throw new Error(`go install produced no ${exe} in ${gobin}`);
    renameSync(built, target);
    log(`[temporal-cli] built ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

export function cliVersion(path: string): string {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return (result.stdout || result.stderr || '').trim();
}
