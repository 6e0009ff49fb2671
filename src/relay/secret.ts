import { createHash, timingSafeEqual } from 'node:crypto';

// The shared secret between APIs and workers. Compared in constant time; never logged.

export function matchesSecret(presented: string | undefined, secret: string): boolean {
  if (!presented) return false;
  // Hashing first gives equal lengths, which timingSafeEqual needs, without leaking the length.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

export const bearer = (secret: string) => `Bearer ${secret}`;
