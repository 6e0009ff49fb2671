import { z } from 'zod';
import type { ToolDefinition } from '../../src/activities/tools/registry';

/** A tool that needs a human's approval before it runs; `deleted` lists the paths it "deleted". */
export function deleteFileTool(deleted: string[] = []): ToolDefinition<{ path: string }> {
  return {
    name: 'delete_file',
    description: 'deletes a file (needs approval)',
    parameters: z.object({ path: z.string() }),
    idempotent: true,
    needsApproval: true,
    run({ path }) {
      deleted.push(path);
      return `deleted ${path}`;
    },
  };
}
