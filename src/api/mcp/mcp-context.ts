import type { StreamSlots } from '../stream-slots';
import type { Client } from '@temporalio/client';
import type { LiveRelay } from '../../relay/live-relay';
import type { StreamTokens } from '../auth/stream-tokens';
import type { RunActionsOptions } from '../run-actions';
import type { RunCosts } from '../run-costs';
import type { RunReader } from '../run-reader';
import type { RunStreamOptions } from '../run-stream';
import type { SharedRunSources } from '../shared-sources';

/** What the MCP tools use: the same stores, readers and limits as the REST routes. */
export interface McpContext extends RunActionsOptions {
  client: Client;
  reader: RunReader;
  sources: SharedRunSources;
  relay: LiveRelay;
  costs: RunCosts;
  streamOptions: RunStreamOptions;
  streamTokens: StreamTokens;
  /** No keys: one tenant, no ownership checks. */
  open: boolean;
  /** The REST links of a run (self, events, Temporal UI). */
  links(runId: string): Record<string, string>;
  /** At most one progress notification per this many ms while a run streams. */
  progressIntervalMs: number;
  /** A progress notification at least this often, even when nothing happens (keeps calls open). */
  keepAliveMs: number;
  /** A tenant's open streams on this replica: start_run calls that follow their run take one, as SSE streams do. */
  streamSlots: StreamSlots;
}
