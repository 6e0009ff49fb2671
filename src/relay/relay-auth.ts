import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StreamEvent } from '../shared/events';

// Trust between APIs and workers without ever sending the relay secret. An API proves it knows
// the secret with an HMAC bound to the worker's advertised address, the run, a nonce and the time,
// so a forged worker (a poller identity anyone on the task queue can claim) learns nothing it can
// use elsewhere. The worker answers with a proof of its own, bound to that run and nonce, so an
// API reads nothing from a forged or replayed stream. (Workers before that signed every line
// instead, an HMAC per token; APIs still read such streams. On networks an attacker can write to,
// serve the relay over TLS: it guards every byte, as it also keeps them private.)

export const proofWindowMs = 60_000;

const derive = (secret: string, purpose: string) => Buffer.from(hkdfSync('sha256', secret, 'durable-agents relay', purpose, 32));
const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const equal = (hex: string | undefined, expected: Buffer) => {
  if (!hex || !/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
};

export interface RelayRequestAuth {
  nonce: string;
  time: string;
  proof: string;
}

export const relayHeaders = {
  nonce: 'x-relay-nonce',
  time: 'x-relay-time',
  proof: 'x-relay-proof',
  /** An API that reads proven streams of plain lines asks for them with this header ("plain"). */
  lines: 'x-relay-lines',
  /** The worker's proof, on such a stream's answer. */
  streamProof: 'x-relay-stream-proof',
} as const;

export class RelayKeys {
  private readonly requestKey: Buffer;
  private readonly eventKey: Buffer;
  private readonly streamKey: Buffer;

  constructor(secret: string) {
    this.requestKey = derive(secret, 'request');
    this.eventKey = derive(secret, 'events');
    this.streamKey = derive(secret, 'streams');
  }

  /** A worker's answer to a stream request it accepted: it knows the secret, for this run and request. */
  streamProof(runId: string, nonce: string): string {
    return hmac(this.streamKey, `${runId}\n${nonce}`).toString('hex');
  }

  verifyStreamProof(runId: string, nonce: string, proof: string | undefined): boolean {
    return equal(proof, hmac(this.streamKey, `${runId}\n${nonce}`));
  }

  /** The event of a line of a proven stream, when it is one of this run's. */
  plainLine(runId: string, line: string): StreamEvent | undefined {
    const event = JSON.parse(line) as StreamEvent | null;
    return typeof event === 'object' && event !== null && typeof event.event === 'string' && (event.data as { runId?: unknown } | undefined)?.runId === runId ? event : undefined;
  }

  /** What an API sends to the worker at `url` to read `runId`. */
  request(url: string, runId: string, now = Date.now()): RelayRequestAuth {
    const nonce = randomBytes(16).toString('hex');
    const time = String(now);
    return { nonce, time, proof: hmac(this.requestKey, `${url}\n${runId}\n${nonce}\n${time}`).toString('hex') };
  }

  /** Whether a request to this worker (advertised as `url`) comes from an API that knows the secret. */
  verifyRequest(url: string, runId: string, auth: Partial<RelayRequestAuth>, now = Date.now()): boolean {
    const time = Number(auth.time);
    if (!auth.nonce || !/^[0-9a-f]{32}$/.test(auth.nonce) || !Number.isFinite(time) || Math.abs(now - time) > proofWindowMs) return false;
    return equal(auth.proof, hmac(this.requestKey, `${url}\n${runId}\n${auth.nonce}\n${auth.time}`));
  }

  /** One NDJSON line: the event and its signature for this run and request. */
  signLine(runId: string, nonce: string, event: StreamEvent): string {
    const json = JSON.stringify(event);
    return `{"sig":"${hmac(this.eventKey, `${runId}\n${nonce}\n${json}`).toString('hex')}","event":${json}}`;
  }

  /** The event of a signed line, or undefined when it is not signed for this run and request. */
  verifyLine(runId: string, nonce: string, line: string): StreamEvent | undefined {
    const match = /^\{"sig":"([0-9a-f]{64})","event":([\s\S]*)\}$/.exec(line);
    if (!match || !equal(match[1], hmac(this.eventKey, `${runId}\n${nonce}\n${match[2]}`))) return undefined;
    const event = JSON.parse(match[2]!) as StreamEvent;
    return (event.data as { runId?: unknown } | undefined)?.runId === runId ? event : undefined;
  }
}

/** Hosts an API may connect to for live streams (RELAY_ALLOWED_HOSTS): `host`, `host:port`, `*.domain`. */
export function hostAllowed(url: string, allowed: string[]): boolean {
  if (allowed.length === 0) return true;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return allowed.some((entry) => {
    const [pattern, port] = entry.toLowerCase().split(/:(?=\d+$)/);
    if (port !== undefined && port !== (parsed.port || (parsed.protocol === 'https:' ? '443' : '80'))) return false;
    return pattern!.startsWith('*.') ? host.endsWith(pattern!.slice(1)) : host === pattern!.replace(/^\[|\]$/g, '');
  });
}
