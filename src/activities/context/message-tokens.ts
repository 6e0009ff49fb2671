import type { ChatMessage } from '../../shared/run-types';
import type { TokenCounter } from './token-counter';

// What a Chat Completions message costs in the prompt, counted the way OpenAI's cookbook does:
// its text plus a few tokens of framing per message (role, start and end markers), plus a few
// for the reply's own opening. Providers frame messages slightly differently; these figures are
// meant to be close and on the high side, not exact.

export const tokensPerMessage = 4;
/** Every reply is primed with the assistant's opening markers. */
export const tokensPerReply = 3;
/** A tool call is framed much like a message: its name and its arguments, plus markers. */
const tokensPerToolCall = 4;

// Per counter (two encodings count the same message differently), then per message object: a
// caller that keeps its message objects from step to step only pays for the new ones.
const memos = new WeakMap<TokenCounter, WeakMap<ChatMessage, number>>();

export function messageTokens(message: ChatMessage, counter: TokenCounter): number {
  let memo = memos.get(counter);
  if (!memo) memos.set(counter, (memo = new WeakMap()));
  const known = memo.get(message);
  if (known !== undefined) return known;
  let tokens = tokensPerMessage + (message.content ? counter.count(message.content) : 0);
  if (message.role === 'assistant') {
    for (const call of message.tool_calls ?? []) {
      tokens += tokensPerToolCall + counter.count(call.function.name) + counter.count(call.function.arguments);
    }
  }
  memo.set(message, tokens);
  return tokens;
}
