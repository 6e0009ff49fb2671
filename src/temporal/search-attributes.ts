import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { searchAttributes } from '../shared/search-attributes';

// The search attributes the project needs exist in the namespace before a run starts (starting a
// workflow with an unknown one fails). The embedded dev server gets them on its command line
// (`--search-attribute`); on a cluster, the API and the worker add the missing ones at start
// through the operator service, or say how to when they may not.

const indexedValueType = { Keyword: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD } as const;

/** `temporal server start-dev` arguments that register them. */
export function searchAttributeArgs(): string[] {
  return searchAttributes.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]);
}

export class SearchAttributesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchAttributesError';
  }
}

/** Adds the missing search attributes to the namespace; idempotent, safe to run from every replica at once. */
export async function ensureSearchAttributes(connection: Connection | NativeConnection, namespace: string): Promise<void> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...listed.customAttributes, ...listed.systemAttributes };
  const wrongType = searchAttributes.filter(({ name, type }) => known[name] !== undefined && known[name] !== indexedValueType[type]);
  if (wrongType.length > 0) throw new SearchAttributesError(`search attribute ${wrongType[0]!.name} exists in namespace "${namespace}" with another type than ${wrongType[0]!.type}`);
  const missing = searchAttributes.filter(({ name }) => known[name] === undefined);
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(({ name, type }) => [name, indexedValueType[type]])),
    });
  } catch (error) {
    // Another replica added them first.
    const again = await connection.operatorService.listSearchAttributes({ namespace }).catch(() => undefined);
    if (again && missing.every(({ name }) => again.customAttributes?.[name] !== undefined)) return;
    const commands = missing.map(({ name, type }) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`).join('; ');
    throw new SearchAttributesError(`could not add the search attributes runs need (${(error as Error).message.slice(0, 200)}); an operator can add them with: ${commands}`);
  }
}
