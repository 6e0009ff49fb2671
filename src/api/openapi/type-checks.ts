import type { z } from 'zod';

// Compile-time links between the zod schemas of the document and the TypeScript types the code
// uses: a field added to a type and not to its schema (or the other way) fails `tsc`.

/** True when each of A and B is assignable to the other. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Every value of the type is one the schema documents. */
export type Covers<Schema extends z.ZodType, Type> = [Type] extends [z.infer<Schema>] ? true : false;

/** Used as `assertType<Same<…>>(true)`: the call does not compile unless the check holds. */
export const assertType = <Check extends true>(_holds: Check): void => undefined;
