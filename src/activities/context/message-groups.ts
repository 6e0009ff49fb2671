import type { ChatMessage } from '../../shared/run-types';

// The units a conversation is trimmed by. An assistant message and the tool results that follow
// it stay together: the API refuses a tool result without the call before it, and a call left
// without its result. Any other message is a group of its own.

/** Messages [start, end) of the conversation. */
export interface MessageGroup {
  start: number;
  end: number;
}

/** How many system messages open the conversation (instructions that are always kept). */
export function leadingSystemCount(messages: readonly ChatMessage[]): number {
  let count = 0;
  while (messages[count]?.role === 'system') count++;
  return count;
}

/** The groups after the leading system messages, oldest first. */
export function groupMessages(messages: readonly ChatMessage[], from: number): MessageGroup[] {
  const groups: MessageGroup[] = [];
  for (let index = from; index < messages.length; index++) {
    const last = groups.at(-1);
    // A tool result joins the group before it; one with nothing before it (malformed input)
    // still gets a group, so it is dropped whole rather than left dangling.
    if (messages[index]!.role === 'tool' && last) last.end = index + 1;
    else groups.push({ start: index, end: index + 1 });
  }
  return groups;
}

/** Tool names by call id, from the assistant messages' tool_calls. */
export function toolNamesById(messages: readonly ChatMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const call of message.tool_calls ?? []) names.set(call.id, call.function.name);
  }
  return names;
}
