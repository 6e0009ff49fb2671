import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ToolInputError, type ToolDefinition } from './registry';
import { openWorkspaceFile, readUpTo } from './safe-open';
import { createSearchFilesTool, defaultSearchLimits, type SearchLimits } from './search-files-tool';
import { Workspace } from './workspace';
import { walkFiles } from './workspace-walk';

// list_files, read_file and search_files over one directory (WORKSPACE_DIR).

const maxEntries = 1000;
const maxFileBytes = 1_000_000;

export function createWorkspaceTools(root: string, searchLimits: Partial<SearchLimits> = {}): ToolDefinition[] {
  const workspace = new Workspace(root);

  const listFiles: ToolDefinition<{ path: string; recursive: boolean }> = {
    name: 'list_files',
    description: 'Lists the files and directories at a path of the workspace (recursively if asked).',
    parameters: z.object({
      path: z.string().max(4000).default('.').describe('A directory, relative to the workspace'),
      recursive: z.boolean().default(false),
    }),
    idempotent: true,
    concurrencyKey: null,
    timeoutMs: 30_000,
    async run({ path, recursive }, context) {
      const directory = await workspace.resolve(path);
      if (!(await stat(directory)).isDirectory()) throw new ToolInputError(`not a directory: ${path}`);
      const out: Array<{ path: string; type: 'file' | 'directory'; size?: number }> = [];
      let truncated = false;
      if (recursive) {
        const walked = await walkFiles(workspace, directory, context.signal, { maxFiles: maxEntries, maxDirectories: defaultSearchLimits.maxDirectories });
        truncated = walked.truncated !== false;
        for (const file of walked.files) {
          const info = await stat(file).catch(() => undefined);
          if (info) out.push({ path: await workspace.display(file), type: 'file', size: info.size });
        }
      } else {
        for (const entry of await readdir(directory, { withFileTypes: true })) {
          if (out.length >= maxEntries) {
            truncated = true;
            break;
          }
          const full = join(directory, entry.name);
          const real = await realpath(full).catch(() => '');
          if (!real || !(await workspace.isInside(real))) continue;
          const info = await stat(real).catch(() => undefined);
          if (!info) continue;
          out.push({ path: await workspace.display(full), type: info.isDirectory() ? 'directory' : 'file', ...(info.isFile() ? { size: info.size } : {}) });
        }
      }
      return { entries: out, truncated };
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
    concurrencyKey: null,
    timeoutMs: 30_000,
    async run({ path, maxBytes, offset = 0 }) {
      // The checks are made on the opened file, so what is read is what was checked.
      const { handle, info, real } = await openWorkspaceFile(workspace, path);
      try {
        const content = await readUpTo(handle, Math.min(maxBytes, info.size - offset), offset);
        const end = offset + content.length;
        return {
          path: await workspace.display(real),
          size: info.size,
          ...(offset > 0 ? { offset } : {}),
          truncated: info.size > end,
          ...(info.size > end ? { nextOffset: end } : {}),
          content: content.toString('utf8'),
        };
      } finally {
        await handle.close();
      }
    },
  };

  return [listFiles, readFileTool, createSearchFilesTool(workspace, { ...defaultSearchLimits, ...searchLimits })];
}
