import type { ChatMessage } from '../shared/run-types';

// Which part of a long conversation the next turn sees. Whole turns are kept or dropped, newest
// first, so a tool call never loses its result: a turn is a user message and everything after it
// up to the next user message. The newest turn is always kept.

export function groupTurns(messages: ChatMessage[]): ChatMessage[][] {
  const turns: ChatMessage[][] = [];
  for (const message of messages) {
    if (message.role === 'user' || turns.length === 0) turns.push([message]);
    else turns.at(-1)!.push(message);
  }
  return turns;
}

const size = (message: ChatMessage) =>
  (message.content?.length ?? 0) + ('tool_calls' in message && message.tool_calls ? JSON.stringify(message.tool_calls).length : 0);

/** The newest whole turns whose text fits in `maxChars`. */
export function trimContext(messages: ChatMessage[], maxChars: number): ChatMessage[] {
  const turns = groupTurns(messages);
  const kept: ChatMessage[][] = [];
  let used = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    const turnSize = turns[i]!.reduce((sum, message) => sum + size(message), 0);
    if (kept.length > 0 && used + turnSize > maxChars) break;
    kept.unshift(turns[i]!);
    used += turnSize;
  }
  return kept.flat();
}
