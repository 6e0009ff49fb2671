import { createClient, type DurableAgentsClient } from '../client';

// Where the API is and the key, read once: the environment, then --url. The key comes from the
// environment only, never from a flag (a flag's value shows in `ps` and in shell history).

export interface CliSettings {
  url: string;
  apiKey?: string;
  json: boolean;
}

export interface GlobalFlags {
  url?: string;
  json?: boolean;
}

export function readSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const apiKey = env.DURABLE_AGENTS_API_KEY || env.API_KEY || undefined;
  return {
    url: flags.url ?? env.DURABLE_AGENTS_URL ?? 'http://localhost:3000',
    ...(apiKey ? { apiKey } : {}),
    json: flags.json === true,
  };
}

export const clientOf = (settings: CliSettings): DurableAgentsClient =>
  createClient({ baseUrl: settings.url, ...(settings.apiKey ? { apiKey: settings.apiKey } : {}) });
