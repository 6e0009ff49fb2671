import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Search attributes of runs and sessions, indexed by Temporal's visibility store: queries such as
// `DurableAgentsTenant = "acme" AND ExecutionStatus = "Running"` count and list a tenant's runs.
// Search attributes are stored in plain text (never encrypted by the payload codec): a tenant id,
// never content. The workflow bundle imports this module: no Node built-ins.

/** Who owns a run or a session (also in its memo). Keyword: exact match. */
export const tenantSearchAttribute = defineSearchAttributeKey('DurableAgentsTenant', SearchAttributeType.KEYWORD);

/** Every search attribute the project needs, with its Temporal type name (for registration). */
export const searchAttributes: ReadonlyArray<{ name: string; type: 'Keyword' }> = [{ name: tenantSearchAttribute.name, type: 'Keyword' }];
