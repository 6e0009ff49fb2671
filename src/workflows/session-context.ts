import { stepMessages, type ChatMessage, type StepRecord } from '../shared/run-types';

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

const note = (text: string): ChatMessage => ({ role: 'assistant', content: text });

/**
 * What a session keeps of a finished turn: the user's message and the messages of the turn's
 * steps, in at most `maxChars` (a long turn's steps hold megabytes of tool results). The oldest
 * tool results give way to a note first, then the oldest steps; a tool call keeps its results.
 * `earlierLeftOut`: steps of executions before this one (a turn that continued as new) are not
 * held here and are left out with a note.
 */
export function condenseTurn(input: string, steps: StepRecord[], earlierLeftOut: boolean, maxChars: number): ChatMessage[] {
  // Steps whose model message is in an earlier execution would leave tool results without their call.
  const firstModelStep = steps.findIndex((step) => step.kind === 'llm');
  const own = firstModelStep < 0 ? [] : steps.slice(firstModelStep);
  const groups = own.map(stepMessages).filter((messages) => messages.length > 0);
  // Merge each tools step into the model step before it: together they are kept or dropped.
  const units: ChatMessage[][] = [];
  for (const group of groups) {
    if (group[0]!.role === 'tool' && units.length > 0) units.at(-1)!.push(...group);
    else units.push([...group]);
  }
  const head: ChatMessage[] = [{ role: 'user', content: input }, ...(earlierLeftOut ? [note('[earlier steps of this turn are left out]')] : [])];
  const total = () => [...head, ...units.flat()].reduce((sum, message) => sum + size(message), 0);
  for (const unit of units.slice(0, -1)) {
    if (total() <= maxChars) break;
    for (const [index, message] of unit.entries()) {
      if (message.role === 'tool' && message.content.length > 200) unit[index] = { ...message, content: `[left out: a ${message.content.length}-character tool result]` };
    }
  }
  while (units.length > 1 && total() > maxChars) {
    units.shift();
    if (head.length === 1) head.push(note('[earlier steps of this turn are left out]'));
  }
  return [...head, ...units.flat()];
}
