import { z } from 'zod';
import { ToolInputError, type ToolDefinition } from './registry';

export const currentTimeTool: ToolDefinition<{ timezone?: string }> = {
  name: 'current_time',
  description: 'The current date and time, in UTC or in the given IANA time zone (e.g. "Europe/Paris").',
  parameters: z.object({ timezone: z.string().min(1).max(64).optional().describe('An IANA time zone name') }),
  idempotent: true,
  concurrencyKey: null,
  timeoutMs: 5000,
  run({ timezone }) {
    const now = new Date();
    const timeZone = timezone ?? 'UTC';
    let local: string;
    try {
      local = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'long' }).format(now);
    } catch {
      throw new ToolInputError(`unknown time zone "${timezone}"`);
    }
    return { iso: now.toISOString(), timezone: timeZone, local };
  },
};
