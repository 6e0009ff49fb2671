// What a key may do. Every route names the scope it needs (app.ts); a stream token carries only
// runs:read, for one run.

// `codec` decodes Temporal payloads (src/api/codec-router.ts) and `metrics` reads GET /metrics
// (figures across every tenant): operators' scopes.
export const scopes = ['runs:write', 'runs:read', 'runs:cancel', 'approvals:decide', 'sessions', 'codec', 'metrics'] as const;

export type Scope = (typeof scopes)[number];

/** Who is calling: from an API key, or from a stream token (then `runId` is the only run it may read). */
export interface Principal {
  keyId: string;
  tenant: string;
  scopes: ReadonlySet<Scope>;
  /** Set for stream tokens: the one run this principal may read. */
  runId?: string;
}

export const isScope = (value: string): value is Scope => (scopes as readonly string[]).includes(value);
