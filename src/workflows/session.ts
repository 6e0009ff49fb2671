import {
  patched,
  ChildWorkflowFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { turnMessages, type ChatMessage, type RunState, type RunSummary } from '../shared/run-types';
import { agentTurn } from './agent-turn';
import { sendMessageUpdate, sessionContinuingMessage, sessionStateQuery, type SessionInput, type SessionState, type SessionTurn } from './definitions';
import { tenantSearchAttribute } from '../shared/search-attributes';
import { listMemo, runDetailsMarkdown, runSummaryLine } from '../shared/run-list';
import { trimContext } from './session-context';

// A multi-turn conversation. Each message starts its own agentTurn run (a child workflow, id =
// run id) that sees the earlier turns; the session keeps the conversation and the list of turns.
// It continues as new between turns when its history grows, carrying only what it needs, so a
// long conversation stays within Temporal's history and payload limits.

const keptTurnSummaries = 200;

export async function session(input: SessionInput): Promise<void> {
  const state: SessionState = {
    sessionId: workflowInfo().workflowId,
    turns: input.carried?.turns ?? [],
    turnCount: input.carried?.turnCount ?? 0,
    generation: input.carried ? input.carried.generation + 1 : 0,
    ...(input.tenant ? { tenant: input.tenant } : {}),
  };
  let messages: ChatMessage[] = input.carried?.messages ?? [];
  let running: { turn: SessionTurn; result: Promise<RunState | RunSummary> } | undefined;
  // Set once the history is long enough: new messages are refused (the API retries them against
  // the next run of the session) so that continuing as new cannot be put off forever.
  let continuing = false;

  setHandler(sessionStateQuery, () => ({ ...state, running: running?.turn.runId }));
  setHandler(
    sendMessageUpdate,
    async ({ input: text, maxSteps, maxTokens }) => {
      // The API refuses a message while the previous turn's run is still running; one that comes
      // as that run closes waits here the moment it takes the session to record the end.
      await condition(() => running === undefined);
      const runId = `run_${uuid4()}`;
      const context = trimContext(messages, input.contextChars);
      const child = await startChild(agentTurn, {
        workflowId: runId,
        // The turn hands back what it added, in at most the session's context size.
        args: [{ ...input.turn, input: text, messages: context, maxSteps: maxSteps ?? input.turn.maxSteps, ...(maxTokens ? { maxTokens } : {}), turnChars: input.contextChars }],
        // A turn outlives nothing: closing the session abandons no run in the middle.
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        ...(input.tenant ? { memo: { tenant: input.tenant }, typedSearchAttributes: [{ key: tenantSearchAttribute, value: input.tenant }] } : {}),
        // Turns started since carry what lists show (model, the task's start) and the Web UI's summary.
        ...(patched('turn-summary')
          ? { memo: { ...(input.tenant ? { tenant: input.tenant } : {}), ...listMemo({ input: text, model: input.turn.model }) }, staticSummary: runSummaryLine(text), staticDetails: runDetailsMarkdown(input.turn) }
          : {}),
      });
      const turn: SessionTurn = { runId, input: text.slice(0, 200), status: 'running' };
      state.turnCount++;
      state.turns.push(turn);
      if (state.turns.length > keptTurnSummaries) state.turns.splice(0, state.turns.length - keptTurnSummaries);
      running = { turn, result: child.result() };
      return { runId };
    },
    {
      validator: ({ input: text }) => {
        if (typeof text !== 'string' || text.trim() === '') throw new Error('input must be a non-empty string');
        if (continuing) throw new Error(sessionContinuingMessage);
      },
    },
  );

  for (;;) {
    await condition(() => running !== undefined);
    const current = running!;
    try {
      const result = await current.result;
      // What the turn added after the context it was given: the user message, answers, tool results.
      // (Runs recorded before bounded histories returned their whole state instead.)
      messages = [...messages, ...(result.steps ? turnMessages(result as RunState) : (result.turn ?? []))];
      current.turn.status = 'completed';
      current.turn.output = (result.output ?? '').slice(0, 200);
    } catch (error) {
      // A failed or cancelled turn leaves no trace in the context the next turn sees.
      const cause = error instanceof ChildWorkflowFailure ? error.cause : error;
      current.turn.status = isCancellation(error) || isCancellation(cause) ? 'cancelled' : 'failed';
    }
    running = undefined;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > input.historyLimit) continuing = true;
    if (continuing) {
      // A message accepted before the flag may still start one more turn; then it comes after that.
      await condition(allHandlersFinished);
      if (!running) {
        await continueAsNew<typeof session>({
          ...input,
          carried: { messages: trimContext(messages, input.contextChars), turns: state.turns, turnCount: state.turnCount, generation: state.generation },
        });
      }
    }
  }
}
