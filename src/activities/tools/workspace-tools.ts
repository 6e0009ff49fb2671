import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ToolInputError, type ToolContext, type ToolDefinition } from './registry';
import { Workspace } from './workspace';

// list_files, read_file and search_files over one directory (WORKSPACE_DIR).

const maxEntries = 1000;
const maxMatches = 200;
const maxFileBytes = 1_000_000;

/** Files under `start`, depth first, never leaving the workspace (links are followed only inside). */
async function* walk(workspace: Workspace, start: string, signal: AbortSignal): AsyncGenerator<string> {
  // Real paths already visited: a link to a file or directory inside is read once, loops end.
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    if (signal.aborted) throw signal.reason;
    const directory = stack.pop()!;
    if (seen.has(directory)) continue;
    seen.add(directory);
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
        seen.add(path);
        yield path;
      }
    }
  }
}

export function createWorkspaceTools(root: string): ToolDefinition[] {
  const workspace = new Workspace(root);

  const listFiles: ToolDefinition<{ path: string; recursive: boolean }> = {
    name: 'list_files',
    description: 'Lists the files and directories at a path of the workspace (recursively if asked).',
    parameters: z.object({
      path: z.string().max(4000).default('.').describe('A directory, relative to the workspace'),
      recursive: z.boolean().default(false),
    }),
    idempotent: true,
    timeoutMs: 30_000,
    async run({ path, recursive }, context) {
      const directory = await workspace.resolve(path);
      if (!(await stat(directory)).isDirectory()) throw new ToolInputError(`not a directory: ${path}`);
      const out: Array<{ path: string; type: 'file' | 'directory'; size?: number }> = [];
      if (recursive) {
        for await (const file of walk(workspace, directory, context.signal)) {
          if (out.length >= maxEntries) break;
          out.push({ path: await workspace.display(file), type: 'file', size: (await stat(file)).size });
        }
      } else {
        for (const entry of await readdir(directory, { withFileTypes: true })) {
          if (out.length >= maxEntries) break;
          const full = join(directory, entry.name);
          const real = await realpath(full).catch(() => '');
          if (!real || !(await workspace.isInside(real))) continue;
          const info = await stat(real);
          out.push({ path: await workspace.display(full), type: info.isDirectory() ? 'directory' : 'file', ...(info.isFile() ? { size: info.size } : {}) });
        }
      }
      return { entries: out, truncated: out.length >= maxEntries };
    },
  };

  const readFileTool: ToolDefinition<{ path: string; maxBytes: number; offset: number }> = {
    name: 'read_file',
    description: 'Reads a text file of the workspace: maxBytes bytes from offset (default: the first 100,000 bytes). A result with nextOffset has more: read again from there.',
    parameters: z.object({
      path: z.string().min(1).max(4000).describe('A file, relative to the workspace'),
      maxBytes: z.number().int().min(1).max(maxFileBytes).default(100_000),
      offset: z.number().int().min(0).default(0).describe('Byte offset to start reading at'),
    }),
    idempotent: true,
    timeoutMs: 30_000,
    async run({ path, maxBytes, offset = 0 }) {
      const file = await workspace.resolve(path);
      const info = await stat(file);
      if (!info.isFile()) throw new ToolInputError(`not a file: ${path}`);
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(Math.max(0, Math.min(maxBytes, info.size - offset)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
        const end = offset + bytesRead;
        return {
          path: await workspace.display(file),
          size: info.size,
          ...(offset > 0 ? { offset } : {}),
          truncated: info.size > end,
          ...(info.size > end ? { nextOffset: end } : {}),
          content: buffer.subarray(0, bytesRead).toString('utf8'),
        };
      } finally {
        await handle.close();
      }
    },
  };

  const searchFiles: ToolDefinition<{ pattern: string; path: string; regex: boolean }> = {
    name: 'search_files',
    description: 'Searches the text files under a workspace path for a pattern (plain text, or a regular expression if regex is true); returns file:line matches.',
    parameters: z.object({
      pattern: z.string().min(1).max(1000),
      path: z.string().max(4000).default('.'),
      regex: z.boolean().default(false),
    }),
    idempotent: true,
    timeoutMs: 120_000,
    async run({ pattern, path, regex }, context: ToolContext) {
      let matcher: (line: string) => boolean;
      if (regex) {
        let expression: RegExp;
        try {
          expression = new RegExp(pattern);
        } catch (error) {
          throw new ToolInputError(`invalid regular expression: ${(error as Error).message}`);
        }
        matcher = (line) => expression.test(line);
      } else matcher = (line) => line.includes(pattern);
      const start = await workspace.resolve(path);
      const files: string[] = [];
      if ((await stat(start)).isFile()) files.push(start);
      else for await (const file of walk(workspace, start, context.signal)) files.push(file);
      const matches: Array<{ path: string; line: number; text: string }> = [];
      let scanned = 0;
      for (const file of files) {
        if (context.signal.aborted) throw context.signal.reason;
        if (matches.length >= maxMatches) break;
        const info = await stat(file);
        if (info.size <= maxFileBytes) {
          const handle = await open(file, 'r');
          const text = (await handle.readFile()).toString('utf8');
          await handle.close();
          if (!text.includes('\0')) {
            const lines = text.split('\n');
            for (let index = 0; index < lines.length && matches.length < maxMatches; index++) {
              if (matcher(lines[index]!)) matches.push({ path: await workspace.display(file), line: index + 1, text: lines[index]!.slice(0, 300) });
            }
          }
        }
        scanned++;
        context.progress({ message: `searched ${scanned} of ${files.length} files, ${matches.length} matches`, fraction: scanned / files.length, data: { scanned, matches: matches.length } });
      }
      return { matches, filesSearched: scanned, truncated: matches.length >= maxMatches };
    },
  };

  return [listFiles, readFileTool, searchFiles];
}
