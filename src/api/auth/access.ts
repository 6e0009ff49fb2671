import { ConfigError, type Config } from '../../config';
import { ApiKeys } from './api-keys';
import { isLoopbackHost } from './host-check';

// Who may use the API, decided once at start. Keys configured: every /v1 route needs one. No keys:
// open, but only on a loopback interface and for loopback Host headers, and said so at start; a
// non-loopback HOST with no keys refuses to start unless AUTH=off says open on purpose.

export interface AccessSettings {
  mode: 'auto' | 'on' | 'off';
  keysFile?: string;
  keys?: string;
  host: string;
}

export interface Access {
  keys: ApiKeys;
  /** No key needed: every caller is the tenant "local". */
  open: boolean;
  /** Open, so only loopback Host headers are answered. */
  loopbackOnly: boolean;
  notice: string;
}

export class AccessError extends ConfigError {}

/** From the configuration: fails fast, with the variable to set, on a setting that would expose runs. */
export const accessFromConfig = (config: Pick<Config, 'auth' | 'host'>): Access =>
  resolveAccess({ mode: config.auth.mode, keysFile: config.auth.keysFile, keys: config.auth.keys, host: config.host });

export function resolveAccess(settings: AccessSettings): Access {
  let keys: ApiKeys;
  try {
    keys = ApiKeys.load({ file: settings.keysFile, inline: settings.keys });
  } catch (error) {
    throw new AccessError((error as Error).message);
  }
  if (settings.mode === 'off') {
    return { keys: ApiKeys.none(), open: true, loopbackOnly: false, notice: 'AUTH=off: the API is open to anyone who can reach it (no keys, every Host accepted)' };
  }
  if (keys.size > 0) return { keys, open: false, loopbackOnly: false, notice: `API keys: ${keys.size} (every /v1 route needs one)` };
  if (settings.mode === 'on') throw new AccessError('AUTH=on needs API keys: set API_KEYS (tenant:key,…) or API_KEYS_FILE');
  const loopbackInterface = isLoopbackHost(settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host);
  if (!loopbackInterface) {
    throw new AccessError(`HOST=${settings.host} with no API keys would open every run to the network: set API_KEYS or API_KEYS_FILE, or AUTH=off to run open on purpose`);
  }
  return { keys, open: true, loopbackOnly: true, notice: 'No API keys: the API is open to this machine only (loopback, loopback Host headers); set API_KEYS or API_KEYS_FILE to require keys' };
}
