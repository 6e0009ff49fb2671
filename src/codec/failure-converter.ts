import { DefaultFailureConverter } from '@temporalio/common';

// With payloads encrypted, a failure's message and stack trace go into its encoded attributes (a
// payload, so the codec encrypts them) instead of plain text in the history: a tool's error can
// quote what it read. Loaded by path: the worker's activities and the workflow bundle use it
// (src/codec/index.ts); clients read either form.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
