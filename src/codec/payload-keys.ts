// PAYLOAD_KEYS: the keys that encrypt Temporal payloads at rest, as comma-separated `id:key`
// pairs. The first pair encrypts new payloads; every pair decrypts (a payload names the id of
// the key that sealed it), so a key is rotated by putting a new pair first and removing the old
// one once no history that needs it is kept. A key is 32 random bytes, in base64 (44 characters)
// or hex (64): `openssl rand -base64 32`. Errors name the key's id or position, never the key.

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export interface PayloadKeys {
  /** Encrypts every new payload. */
  current: PayloadKey;
  /** Every configured key by id, the current one included. */
  byId: ReadonlyMap<string, Buffer>;
}

export class PayloadKeysError extends Error {
  constructor(message: string) {
    super(`PAYLOAD_KEYS: ${message}`);
    this.name = 'PayloadKeysError';
  }
}

const idPattern = /^[A-Za-z0-9._-]{1,64}$/;

export function parsePayloadKeys(text: string): PayloadKeys {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new PayloadKeysError('no key: give `id:key` pairs, the key 32 random bytes in base64 (`openssl rand -base64 32`)');
  const byId = new Map<string, Buffer>();
  const keys: PayloadKey[] = [];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new PayloadKeysError(`entry ${index + 1} is not \`id:key\``);
    const id = entry.slice(0, colon).trim();
    if (!idPattern.test(id)) throw new PayloadKeysError(`entry ${index + 1}: a key id is 1 to 64 letters, digits, '.', '_' or '-'`);
    if (byId.has(id)) throw new PayloadKeysError(`the key id "${id}" appears twice`);
    const key = decodeKey(entry.slice(colon + 1).trim());
    if (!key) throw new PayloadKeysError(`the key "${id}" is not 32 bytes in base64 (44 characters) or hex (64 characters)`);
    if (key.every((byte) => byte === key[0])) throw new PayloadKeysError(`the key "${id}" repeats one byte: make a random one with \`openssl rand -base64 32\``);
    byId.set(id, key);
    keys.push({ id, key });
  });
  return { current: keys[0]!, byId };
}

function decodeKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === 32) return key;
  }
  return undefined;
}
