import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web console (web/) is built by Vite into web/dist: at install (npm's `prepare`), and again
// by `npm start` and the API when its sources are newer than the build (after a git pull). Vite
// is a dev dependency: an install without it (npm ci --omit=dev) serves a build made elsewhere
// (the Dockerfile's build stage) or says how to make one.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const consoleDir = join(root, 'web');
export const consoleDist = join(consoleDir, 'dist');

/** What the console's build is made from: its own sources and the client and types it imports. */
const sources = [join(consoleDir, 'src'), join(consoleDir, 'index.html'), join(consoleDir, 'vite.config.ts'), join(consoleDir, 'public'), join(root, 'src/client'), join(root, 'src/shared')];

function newestChange(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, entry)));
  return newest;
}

export type ConsoleBuild = { state: 'fresh' | 'built' } | { state: 'missing' | 'stale'; reason: string };

/** Builds the console when it is missing or older than its sources; never throws for a missing Vite. */
export async function ensureConsoleBuilt(log: (line: string) => void = () => {}): Promise<ConsoleBuild> {
  const index = join(consoleDist, 'index.html');
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  const canBuild = existsSync(join(consoleDir, 'src'));
  if (builtAt > 0 && (!canBuild || Math.max(...sources.map(newestChange)) <= builtAt)) return { state: 'fresh' };
  if (!canBuild) return { state: 'missing', reason: 'web/dist is missing and so are the sources in web/' };
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    const reason = 'Vite is not installed (a production install?): run `npm install` then `npm run build:web`';
    return builtAt > 0 ? { state: 'stale', reason } : { state: 'missing', reason };
  }
  log(builtAt > 0 ? 'Console: sources changed, building it again (Vite)…' : 'Console: building it (Vite)…');
  await vite.build({ root: consoleDir, configFile: join(consoleDir, 'vite.config.ts'), logLevel: 'warn' });
  return { state: 'built' };
}
