import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { delimiter, join } from 'node:path';

// Temporal's programs built from source with `go install` (the module proxy is reachable where
// GitHub's releases may not be), each into a cache directory of its own, once per version.

/** ~/.cache/durable-agents (XDG_CACHE_HOME and the platforms' own cache directories respected). */
export function cacheBase(): string {
  const base =
    process.env.XDG_CACHE_HOME ||
    (platform() === 'darwin'
      ? join(homedir(), 'Library', 'Caches')
      : platform() === 'win32'
        ? process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local')
        : join(homedir(), '.cache'));
  return join(base, 'durable-agents');
}

export const executableName = (name: string) => (platform() === 'win32' ? `${name}.exe` : name);

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export interface GoInstallSpec {
  /** What is built, for progress lines ("Temporal CLI v1.5.1"). */
  label: string;
  /** `module/path/cmd/x@vX.Y.Z`, all of one module at one version. */
  packages: string[];
  ldflags?: string;
  /** The directory the programs are cached in. */
  dir: string;
  /** Each program go builds (its package's last path element) and its name in the cache. */
  programs: Record<string, string>;
  log: (line: string) => void;
}

/**
 * `go install` into a private directory, then an atomic rename of each program into the cache,
 * so concurrent builds never leave a half-written binary. Throws with go's last output.
 */
export async function goInstall(go: string, spec: GoInstallSpec): Promise<void> {
  mkdirSync(spec.dir, { recursive: true });
  const gobin = mkdtempSync(join(spec.dir, 'build-'));
  spec.log(`building ${spec.label} from source with ${go} (first run only; this takes a few minutes)...`);
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const args = ['install', '-v', ...(spec.ldflags ? [`-ldflags=${spec.ldflags}`] : []), ...spec.packages];
      const child = spawn(go, args, { env: { ...process.env, GOBIN: gobin }, stdio: ['ignore', 'inherit', 'pipe'] });
      let packages = 0;
      let tail = '';
      const timer = setInterval(() => spec.log(`still building ${spec.label}: ${packages} packages so far, ${Math.round((Date.now() - started) / 1000)} s`), 15_000);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        for (const line of text.split('\n')) {
          if (!line) continue;
          if (line.startsWith('go: downloading')) spec.log(line);
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
    for (const [built, cached] of Object.entries(spec.programs)) {
      const path = join(gobin, executableName(built));
      if (!existsSync(path)) throw new Error(`go install produced no ${executableName(built)} in ${gobin}`);
      renameSync(path, join(spec.dir, executableName(cached)));
    }
    spec.log(`built ${spec.label} into ${spec.dir} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}
