import type { Client } from '@temporalio/client';
import { agentTurnWorkflowType } from '../workflows/definitions';
import { tenantSearchAttribute } from '../shared/search-attributes';
import { HttpError } from './errors';

// MAX_RUNNING_RUNS_PER_TENANT: a tenant with that many runs running gets 429 for the next one,
// on every replica: the count comes from Temporal's visibility (the tenant search attribute and
// ExecutionStatus), not from this process. One count query per tenant per second at most,
// shared by concurrent requests; runs this replica starts between counts are added to the last
// count, so a burst on one replica stops exactly at the cap. Runs started by other replicas in
// the last second can pass it by that many (visibility is eventually consistent anyway). When
// visibility cannot be read, runs are admitted (starting them would fail on its own if Temporal
// were down) and it is logged once.

interface TenantCount {
  /** Running runs in the last count. */
  running: number;
  at: number;
  /** Runs this replica admitted since that count (reserved before they start). */
  startedSince: number;
}

export class RunAdmission {
  private readonly counts = new Map<string, TenantCount>();
  private readonly refreshing = new Map<string, Promise<TenantCount | undefined>>();
  private failing = false;

  constructor(
    private readonly client: Client,
    private readonly maxRunning: number | undefined,
    private readonly log: (message: string, error?: unknown) => void,
    private readonly refreshMs = 1000,
  ) {}

  /** Reserves a place for one run of `tenant`, or throws 429. Call `release` if the start fails. */
  async admit(tenant: string): Promise<void> {
    const max = this.maxRunning;
    if (max === undefined || max <= 0) return;
    let count = this.counts.get(tenant);
    if (!count || Date.now() - count.at > this.refreshMs) count = await this.refresh(tenant);
    if (!count) return;
    if (count.running + count.startedSince >= max) {
      throw new HttpError(
        429,
        'too_many_running_runs',
        `tenant "${tenant}" has ${count.running + count.startedSince} runs running (MAX_RUNNING_RUNS_PER_TENANT is ${max}); retry when one has ended`,
        { 'Retry-After': '5' },
      );
    }
    count.startedSince++;
  }

  release(tenant: string): void {
    const count = this.counts.get(tenant);
    if (count && count.startedSince > 0) count.startedSince--;
  }

  private refresh(tenant: string): Promise<TenantCount | undefined> {
    let pending = this.refreshing.get(tenant);
    if (!pending) {
      pending = this.count(tenant).finally(() => this.refreshing.delete(tenant));
      this.refreshing.set(tenant, pending);
    }
    return pending;
  }

  private async count(tenant: string): Promise<TenantCount | undefined> {
    const at = Date.now();
    try {
      // Tenants are letters, digits and _ . : - (api-keys.ts): nothing to escape in the query.
      const query = `${tenantSearchAttribute.name} = "${tenant}" AND WorkflowType = "${agentTurnWorkflowType}" AND ExecutionStatus = "Running"`;
      const { count: running } = await this.client.workflow.count(query);
      const count = { running, at, startedSince: 0 };
      this.counts.set(tenant, count);
      this.failing = false;
      return count;
    } catch (error) {
      if (!this.failing) this.log('cannot count running runs in Temporal visibility; admitting runs without MAX_RUNNING_RUNS_PER_TENANT until it answers', error);
      this.failing = true;
      return undefined;
    }
  }
}
