// Text cut to fit a size in bytes, as Temporal counts it: user metadata (a workflow's or an
// activity's summary and details) is a JSON payload whose size the server limits (400 bytes for a
// summary, 20,000 for details, by default), and an encrypted payload is bigger still. Runs in
// workflows too: no Node built-ins.

/** Bytes this code point takes inside a JSON string, in UTF-8. */
function jsonBytes(codePoint: number): number {
  if (codePoint === 0x22 || codePoint === 0x5c) return 2; // \" and \\
  if (codePoint < 0x20) return 6; // \u00XX
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

/** The text, or its start and `…`, so that it takes at most `maxBytes` as a JSON string (quotes included). */
export function fitJsonBytes(text: string, maxBytes: number): string {
  let used = 2;
  let index = 0;
  for (const character of text) {
    used += jsonBytes(character.codePointAt(0)!);
    if (used > maxBytes) {
      // Room for the ellipsis (3 bytes): drop characters until it fits.
      let kept = text.slice(0, index);
      let size = 2 + 3 + [...kept].reduce((sum, kept) => sum + jsonBytes(kept.codePointAt(0)!), 0);
      while (size > maxBytes && kept.length > 0) {
        const last = [...kept].at(-1)!;
        size -= jsonBytes(last.codePointAt(0)!);
        kept = kept.slice(0, kept.length - last.length);
      }
      return `${kept}…`;
    }
    index += character.length;
  }
  return text;
}

/** Limits for what the Web UI shows, well under Temporal's, leaving room for encryption. */
export const uiTextBytes = { summary: 200, details: 16_000, currentDetails: 8_000 } as const;
