import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isScope, scopes, type Principal, type Scope } from './scopes';

// API keys: from API_KEYS_FILE (JSON, each key stored as its SHA-256, never in clear) or, for
// quick setups, API_KEYS ("tenant:key,tenant:key", every scope). A presented key is hashed and
// compared with every stored hash in constant time.

const fileSchema = z.array(
  z.strictObject({
    id: z.string().min(1).max(200),
    sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'sha256 must be the key\'s SHA-256 in hex (64 characters)'),
    tenant: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.:-]+$/, 'tenant: letters, digits and _ . : - only'),
    scopes: z.array(z.string().refine(isScope, { message: `scopes are ${scopes.join(', ')}` })).min(1),
  }),
);

interface StoredKey {
  id: string;
  hash: Buffer;
  tenant: string;
  scopes: ReadonlySet<Scope>;
}

export class ApiKeys {
  private constructor(private readonly keys: StoredKey[]) {}

  get size(): number {
    return this.keys.length;
  }

  static none(): ApiKeys {
    return new ApiKeys([]);
  }

  /** @throws Error naming the problem (the caller turns it into a config error). */
  static load(options: { file?: string; inline?: string }): ApiKeys {
    const keys: StoredKey[] = [];
    if (options.file) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(options.file, 'utf8'));
      } catch (error) {
        throw new Error(`API_KEYS_FILE ${options.file}: ${(error as Error).message}`);
      }
      const entries = fileSchema.safeParse(parsed);
      if (!entries.success) throw new Error(`API_KEYS_FILE ${options.file}: ${entries.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      for (const entry of entries.data) keys.push({ id: entry.id, hash: Buffer.from(entry.sha256, 'hex'), tenant: entry.tenant, scopes: new Set(entry.scopes as Scope[]) });
    }
    if (options.inline) {
      for (const [index, pair] of options.inline.split(',').map((part) => part.trim()).filter(Boolean).entries()) {
        const colon = pair.indexOf(':');
        const tenant = pair.slice(0, colon);
        const key = pair.slice(colon + 1);
        if (colon <= 0 || !/^[A-Za-z0-9_.-]+$/.test(tenant)) throw new Error(`API_KEYS: entry ${index + 1} is not tenant:key (tenant: letters, digits and _ . - only)`);
        if (key.length < 16) throw new Error(`API_KEYS: the key of entry ${index + 1} (tenant ${tenant}) is shorter than 16 characters`);
        keys.push({ id: `${tenant}-${index + 1}`, hash: sha256(key), tenant, scopes: new Set(scopes) });
      }
    }
    const ids = new Set<string>();
    for (const key of keys) {
      if (ids.has(key.id)) throw new Error(`API keys: the id "${key.id}" appears twice`);
      ids.add(key.id);
    }
    return new ApiKeys(keys);
  }

  /** The principal of a presented key, or undefined. Every stored hash is compared, in constant time. */
  verify(presented: string): Principal | undefined {
    const hash = sha256(presented);
    let found: StoredKey | undefined;
    for (const key of this.keys) if (timingSafeEqual(hash, key.hash) && !found) found = key;
    return found && { keyId: found.id, tenant: found.tenant, scopes: found.scopes };
  }
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
