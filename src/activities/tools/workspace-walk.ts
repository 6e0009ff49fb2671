import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Workspace } from './workspace';

// The files under a directory of the workspace, depth first. Links are followed only while they
// stay inside, and each real path is visited once, so loops end. Both the files collected and the
// directories opened are capped: a tree of a million empty directories must not keep a tool busy.

export interface WalkLimits {
  maxFiles: number;
  maxDirectories: number;
}

export interface WalkResult {
  /** Real paths, in a stable order. */
  files: string[];
  /** Which limit was reached, if one was: there may be more files. */
  truncated: false | 'files' | 'directories';
}

export async function walkFiles(workspace: Workspace, start: string, signal: AbortSignal, limits: WalkLimits): Promise<WalkResult> {
  const seen = new Set<string>();
  const files: string[] = [];
  const stack = [start];
  let directories = 0;
  while (stack.length > 0) {
    if (signal.aborted) throw signal.reason;
    const directory = stack.pop()!;
    if (seen.has(directory)) continue;
    seen.add(directory);
    if (++directories > limits.maxDirectories) return { files, truncated: 'directories' };
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? 1 : -1));
    for (const entry of entries) {
      let path = join(directory, entry.name);
      if (entry.isSymbolicLink()) {
        path = await realpath(path).catch(() => '');
        if (!path || !(await workspace.isInside(path))) continue;
      }
      const info = await stat(path).catch(() => undefined);
      if (info?.isDirectory()) stack.push(path);
      else if (info?.isFile() && !seen.has(path)) {
        if (files.length >= limits.maxFiles) return { files, truncated: 'files' };
        seen.add(path);
        files.push(path);
      }
    }
  }
  return { files, truncated: false };
}
