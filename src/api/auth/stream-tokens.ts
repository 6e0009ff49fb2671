import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { Principal } from './scopes';

// Stream tokens: EventSource cannot send an Authorization header, so a run's events link carries
// a short-lived token (a JWT, HS256) that lets its holder read that one run and nothing else.
// API replicas share the signing key: STREAM_TOKEN_SECRET, or one derived from RELAY_SECRET;
// `npm start` alone makes a random one per process.

const audience = 'durable-agents:stream';

export class StreamTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string | undefined,
    readonly ttlSeconds = 900,
  ) {
    this.key = secret ? createHmac('sha256', 'durable-agents stream tokens').update(secret).digest() : randomBytes(32);
  }

  async mint(runId: string, tenant: string): Promise<{ token: string; expiresAt: string }> {
    const expires = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const token = await new SignJWT({ tenant, scope: 'runs:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(runId)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(expires)
      .sign(this.key);
    return { token, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /**
   * A MAC of `value` for `purpose` under the same key (list cursors: only a page token this API
   * gave, for that tenant and query, goes back to Temporal). base64url, 43 characters.
   */
  seal(purpose: string, value: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\0${value}`).digest('base64url');
  }

  /** Whether `mac` is seal(purpose, value). */
  opens(purpose: string, value: string, mac: string): boolean {
    const expected = Buffer.from(this.seal(purpose, value));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** The principal of a valid token, or why it is not one (never the token itself). */
  async verify(token: string): Promise<{ principal: Principal } | { error: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { audience, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.tenant !== 'string' || payload.scope !== 'runs:read') return { error: 'the stream token is not one of this API' };
      return { principal: { keyId: `stream-token:${payload.sub}`, tenant: payload.tenant, scopes: new Set(['runs:read']), runId: payload.sub } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { error: 'the stream token has expired; mint a new one with POST /v1/runs/:runId/stream-tokens' };
      return { error: 'the stream token is not valid' };
    }
  }
}
