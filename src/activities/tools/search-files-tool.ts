import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { throttleProgress } from './progress-throttle';
import { ToolInputError, type ToolContext, type ToolDefinition } from './registry';
import { openResolvedFile, readUpTo } from './safe-open';
import { checkRegex, RegexLineMatcher, RegexTimeout } from './safe-regex';
import type { Workspace } from './workspace';
import { walkFiles } from './workspace-walk';

// search_files: plain text, or a regular expression run on RE2 off the event loop (safe-regex.ts).
// One search is bounded in every direction: files searched, bytes read, matches returned, time
// spent in the regular expression, and progress events per second. A limit reached is said in
// the result (`stopped`), so the model can narrow its search.

export interface SearchLimits {
  maxFiles: number;
  maxDirectories: number;
  /** Bytes read over the whole search. */
  maxBytes: number;
  /** Larger files are skipped. */
  maxFileBytes: number;
  maxMatches: number;
  /** Time the regular expression may run over the whole search. */
  regexBudgetMs: number;
  /** Shortest time between two progress events. */
  progressIntervalMs: number;
}

export const defaultSearchLimits: SearchLimits = {
  maxFiles: 5000,
  maxDirectories: 20_000,
  maxBytes: 32 * 1024 * 1024,
  maxFileBytes: 1_000_000,
  maxMatches: 200,
  regexBudgetMs: 10_000,
  progressIntervalMs: 250,
};

type Match = { path: string; line: number; text: string };

function plainMatches(bytes: Buffer, pattern: string, maxMatches: number): Array<{ line: number; text: string }> {
  const lines = bytes.toString('utf8').split('\n');
  const out: Array<{ line: number; text: string }> = [];
  for (let index = 0; index < lines.length && out.length < maxMatches; index++) {
    if (lines[index]!.includes(pattern)) out.push({ line: index + 1, text: lines[index]!.slice(0, 300) });
  }
  return out;
}

export function createSearchFilesTool(workspace: Workspace, limits: SearchLimits = defaultSearchLimits): ToolDefinition<{ pattern: string; path: string; regex: boolean }> {
  return {
    name: 'search_files',
    description:
      'Searches the text files under a workspace path for a pattern (plain text, or, if regex is true, an RE2 regular expression: no backreferences or lookaround); returns file:line matches.',
    parameters: z.object({
      pattern: z.string().min(1).max(1000),
      path: z.string().max(4000).default('.'),
      regex: z.boolean().default(false),
    }),
    idempotent: true,
    // Local files: WORKER_MAX_ACTIVITIES bounds the worker's own work.
    concurrencyKey: null,
    timeoutMs: 120_000,
    async run({ pattern, path, regex }, context: ToolContext) {
      if (regex) checkRegex(pattern);
      const start = await workspace.resolve(path);
      const { files, truncated: walkLimit } = (await stat(start)).isFile()
        ? { files: [start], truncated: false as const }
        : await walkFiles(workspace, start, context.signal, { maxFiles: limits.maxFiles, maxDirectories: limits.maxDirectories });
      let stopped: string | undefined;
      if (walkLimit === 'files') stopped = `file limit: only the first ${files.length} files were searched`;
      if (walkLimit === 'directories') stopped = `directory limit: only the files of the first ${limits.maxDirectories} directories were searched`;
      const matcher = regex ? new RegexLineMatcher(pattern, limits.regexBudgetMs, context.signal) : undefined;
      const progress = throttleProgress(context.progress, limits.progressIntervalMs);
      const matches: Match[] = [];
      let scanned = 0;
      let bytesRead = 0;
      try {
        for (const file of files) {
          if (context.signal.aborted) throw context.signal.reason;
          if (matches.length >= limits.maxMatches) break;
          const shown = await workspace.display(file);
          // Refused files (a link swapped in, several hard links) are skipped, as links out of the workspace are.
          const opened = await openResolvedFile(workspace, file, shown).catch((error: unknown) => {
            if (error instanceof ToolInputError) return undefined;
            throw error;
          });
          if (opened) {
            let bytes: Buffer | undefined;
            try {
              if (opened.info.size <= limits.maxFileBytes) {
                if (bytesRead + opened.info.size > limits.maxBytes) {
                  stopped = `byte limit: ${limits.maxBytes} bytes read`;
                  break;
                }
                bytes = await readUpTo(opened.handle, opened.info.size);
                bytesRead += bytes.length;
              }
            } finally {
              await opened.handle.close();
            }
            if (bytes && !bytes.includes(0)) {
              const room = limits.maxMatches - matches.length;
              const found = matcher ? await matcher.matchLines(bytes, room) : plainMatches(bytes, pattern, room);
              for (const match of found) {
                matches.push({ path: shown, ...match });
                // Each match streams to watchers as it is found (tool.output.delta).
                context.output(`${shown}:${match.line}: ${match.text}\n`);
              }
            }
          }
          scanned++;
          progress.report({ message: `searched ${scanned} of ${files.length} files, ${matches.length} matches`, fraction: scanned / files.length, data: { scanned, matches: matches.length } });
        }
      } catch (error) {
        if (!(error instanceof RegexTimeout)) throw error;
        stopped = `time limit: ${error.message}; use a simpler pattern or a narrower path`;
      } finally {
        matcher?.close();
        progress.flush();
      }
      return { matches, filesSearched: scanned, truncated: matches.length >= limits.maxMatches || stopped !== undefined, ...(stopped ? { stopped } : {}) };
    },
  };
}
