import type { CreateRunRequest } from '../../client';
import { UsageError } from '../exit-codes';
import { followRun } from '../follow';
import { rendererFor } from './renderer-for';
import { clientOf, type CliSettings } from '../settings';

// durable-agents run "<task>": starts a run and follows it to its end (see follow.ts).

export interface RunFlags {
  model?: string;
  tools?: string;
  maxSteps?: string;
  maxTokens?: string;
  system?: string;
}

export async function runCommand(task: string, flags: RunFlags, settings: CliSettings): Promise<number> {
  const client = clientOf(settings);
  const body: CreateRunRequest = {
    input: task,
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.system ? { system: flags.system } : {}),
    ...(flags.tools !== undefined ? { tools: flags.tools.split(',').map((name) => name.trim()).filter(Boolean) } : {}),
    ...(flags.maxSteps !== undefined ? { maxSteps: positiveInteger('--max-steps', flags.maxSteps) } : {}),
    ...(flags.maxTokens !== undefined ? { maxTokens: positiveInteger('--max-tokens', flags.maxTokens) } : {}),
  };
  const { runId } = await client.createRun(body);
  return followRun(client, runId, rendererFor(runId, settings));
}

export function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${flag} takes a positive integer, not "${value}"`);
  return number;
}
