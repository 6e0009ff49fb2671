import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { cacheBase, executableName, goInstall, isFile, onPath } from './go-install';

// Finds a Temporal CLI binary (the dev server lives in it), in this order:
// TEMPORAL_CLI_PATH; `temporal` on PATH; our cached build; a Go build into that cache;
// else the SDK's own download (machines with internet).

export const temporalCliVersion = '1.5.1';
const modulePath = 'github.com/temporalio/cli/cmd/temporal';
const exe = executableName('temporal');

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
  return join(cacheBase(), `temporal-cli-${temporalCliVersion}`);
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
    if (isFile(fromEnv)) return { kind: 'path', path: fromEnv, source: 'TEMPORAL_CLI_PATH' };
    throw new TemporalCliNotFoundError([`TEMPORAL_CLI_PATH=${fromEnv} is not a file`]);
  }
  const fromPath = onPath(exe);
  if (fromPath) return { kind: 'path', path: fromPath, source: 'PATH' };
  reasons.push('`temporal` is not on PATH');

  const cached = join(cliCacheDir(), exe);
  if (isFile(cached)) return { kind: 'path', path: cached, source: 'cache' };
  reasons.push(`no cached build at ${cached}`);

  const go = onPath(executableName('go'));
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

/** `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into the cache (go-install.ts). */
async function buildWithGo(go: string, target: string, log: (line: string) => void): Promise<void> {
  await goInstall(go, {
    label: `Temporal CLI v${temporalCliVersion}`,
    packages: [`${modulePath}@v${temporalCliVersion}`],
    // -checklinkname=0: newer Go refuses the linkname uses of this release's dependencies.
    ldflags: `-checklinkname=0 -X github.com/temporalio/cli/temporalcli.Version=${temporalCliVersion}`,
    dir: dirname(target),
    programs: { temporal: 'temporal' },
    log: (line) => log(`[temporal-cli] ${line}`),
  });
}

export function cliVersion(path: string): string {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return (result.stdout || result.stderr || '').trim();
}
