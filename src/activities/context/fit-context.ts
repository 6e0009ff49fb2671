import type { ChatMessage, ContextTrimReport } from '../../shared/run-types';
import { groupMessages, leadingSystemCount, toolNamesById } from './message-groups';
import { messageTokens, tokensPerReply } from './message-tokens';
import type { TokenCounter } from './token-counter';

// Fits a conversation into a model's context window before a model call. What is kept, in order
// of importance: the leading system messages, the current task, the newest group (the last
// assistant message and its tool results: what the model is working on). To make room, the
// oldest tool results are replaced by a note saying how to get them back; if that is not enough,
// the oldest whole groups go. When even the kept part is too big, the caller is told (fits:
// false) rather than sent a conversation the model would refuse. Pure: the input is not changed.

export interface FitContextOptions {
  /** The model's context window, in tokens. */
  maxTokens: number;
  /** Tokens kept free for the answer (default: defaultReserveTokens(maxTokens)). */
  reserveTokens?: number;
  /** Tokens of the tool definitions sent with the messages, counted by the caller (default 0). */
  toolsTokens?: number;
  /** Index of the current task's user message, which is always kept. */
  taskIndex: number;
  counter: TokenCounter;
}

/** Prompt tokens (messages, reply priming and tool definitions) before and after trimming, and what went. */
export type FitContextReport = ContextTrimReport;

export interface FitContextResult {
  messages: ChatMessage[];
  fits: boolean;
  /** Prompt tokens of what is sent (messages, reply priming and tool definitions), as counted. */
  tokens: number;
  /** Undefined when nothing was trimmed and the conversation fits. */
  report?: FitContextReport;
}

/** Room for the answer: 4,096 tokens, or an eighth of a small window (1,024 of 8k) so the prompt keeps most of it. */
export function defaultReserveTokens(maxTokens: number): number {
  return Math.min(4096, Math.floor(maxTokens / 8));
}

export function leftOutNote(characters: number, toolName: string | undefined): string {
  const tool = toolName ?? 'a tool whose call is no longer in the conversation';
  return `[left out to fit the context window: a ${characters.toLocaleString('en-US')}-character result of ${tool}; call the tool again if you need it]`;
}

export function fitContext(messages: readonly ChatMessage[], options: FitContextOptions): FitContextResult {
  const { maxTokens, taskIndex, counter } = options;
  if (!Number.isFinite(maxTokens) || maxTokens <= 0) throw new RangeError(`maxTokens must be a positive number, not ${maxTokens}`);
  if (!Number.isInteger(taskIndex) || taskIndex < 0 || taskIndex >= messages.length) {
    throw new RangeError(`taskIndex ${taskIndex} is not the index of a message (there are ${messages.length})`);
  }
  const reserveTokens = options.reserveTokens ?? defaultReserveTokens(maxTokens);
  const budget = maxTokens - reserveTokens;
  const tokens = messages.map((message) => messageTokens(message, counter));
  const tokensBefore = tokens.reduce((sum, count) => sum + count, tokensPerReply + (options.toolsTokens ?? 0));
  if (tokensBefore <= budget) return { messages: [...messages], fits: true, tokens: tokensBefore };

  // kept[i] is messages[i], its note, or undefined once its group is dropped.
  const kept: Array<ChatMessage | undefined> = [...messages];
  let total = tokensBefore;
  const groups = groupMessages(messages, leadingSystemCount(messages));
  const newest = groups.at(-1);
  const taskGroup = groups.find((group) => group.start <= taskIndex && taskIndex < group.end);

  // Oldest tool results first, all but the newest group's: the model is reading those now.
  const toolNames = toolNamesById(messages);
  for (let index = 0; index < (newest?.start ?? 0) && total > budget; index++) {
    const message = messages[index]!;
    if (message.role !== 'tool') continue;
    const note: ChatMessage = { role: 'tool', tool_call_id: message.tool_call_id, content: leftOutNote(message.content.length, toolNames.get(message.tool_call_id)) };
    const noteTokens = messageTokens(note, counter);
    if (noteTokens >= tokens[index]!) continue;
    kept[index] = note;
    total -= tokens[index]! - noteTokens;
    tokens[index] = noteTokens;
  }

  // Then whole groups, oldest first, never the task's nor the newest.
  for (const group of groups) {
    if (total <= budget) break;
    if (group === taskGroup || group === newest) continue;
    for (let index = group.start; index < group.end; index++) {
      total -= tokens[index]!;
      kept[index] = undefined;
    }
  }

  const fitted = kept.filter((message) => message !== undefined);
  const toolResultsLeftOut = kept.filter((message, index) => message !== undefined && message !== messages[index]).length;
  return {
    messages: fitted,
    fits: total <= budget,
    tokens: total,
    report: {
      tokensBefore,
      tokensAfter: total,
      maxTokens,
      toolResultsLeftOut,
      messagesLeftOut: messages.length - fitted.length,
      estimate: counter.estimate,
    },
  };
}
