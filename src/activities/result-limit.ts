import type { TruncationInfo } from '../shared/run-types';

// A tool result is stored once in the history and sent to the model at every later step, so it
// has a size limit (TOOL_RESULT_MAX_BYTES, and each call's share of its step's budget). A longer
// result is cut on a character boundary and ends with a marker that tells the model how much is
// missing and how to read the rest.

export const defaultToolResultMaxBytes = 256 * 1024;

/** Room kept for the marker inside the limit. */
const markerBytes = 400;

function howToReadTheRest(tool: string, keptBytes: number): string {
  if (tool === 'read_file') return 'call read_file again with a smaller maxBytes and an offset (its result says nextOffset) to read the rest';
  if (tool === 'search_files') return 'search again with a narrower pattern or path';
  return `ask for a smaller part (the first ${keptBytes} bytes are shown)`;
}

/** The longest start of `text` that takes at most `maxBytes` in UTF-8, no character split. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

export function limitResult(tool: string, text: string, maxBytes: number): { text: string; truncated?: TruncationInfo } {
  const totalBytes = Buffer.byteLength(text, 'utf8');
  if (totalBytes <= maxBytes) return { text };
  const budget = Math.max(0, maxBytes - markerBytes);
  const bytes = Buffer.from(text, 'utf8');
  // Back off to the start of a UTF-8 character so that nothing is split.
  let end = budget;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  const kept = bytes.subarray(0, end).toString('utf8');
  const keptBytes = end;
  const marker =
    `\n\n[truncated: this result has ${totalBytes} bytes; the first ${keptBytes} are shown and ` +
    `${totalBytes - keptBytes} are left out. To see more, ${howToReadTheRest(tool, keptBytes)}.]`;
  return { text: kept + marker, truncated: { totalBytes, keptBytes } };
}
