import { randomUUID } from 'node:crypto';
import { QueryNotRegisteredError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { sendMessageUpdate, sessionContinuingMessage, sessionStateQuery, sessionWorkflowType, type SessionInput, type SessionState } from '../workflows/definitions';
import { tenantSearchAttribute } from '../shared/search-attributes';

// Sessions are workflows too (id = session id); each message becomes an agentTurn run.

export class SessionNotFoundError extends Error {
  constructor(readonly sessionId: string) {
    super(`no session with id "${sessionId}"`);
    this.name = 'SessionNotFoundError';
  }
}

export class TurnRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TurnRefusedError';
  }
}

export class SessionStore {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** @param givenId an id the caller derives (a chat's, chat-request.ts): a running session with it is kept, not duplicated. */
  async create(input: SessionInput & { tenant: string }, givenId?: string): Promise<string> {
    const sessionId = givenId ?? `ses_${randomUUID()}`;
    await this.client.workflow.start(sessionWorkflowType, {
      workflowId: sessionId,
      taskQueue: this.taskQueue,
      args: [input],
      memo: { tenant: input.tenant },
      typedSearchAttributes: [{ key: tenantSearchAttribute, value: input.tenant }],
      ...(givenId ? { workflowIdConflictPolicy: 'USE_EXISTING' as const } : {}),
    });
    return sessionId;
  }

  /** @param tenant the caller's tenant: another tenant's session does not exist for it (undefined: no check). */
  async get(sessionId: string, tenant?: string): Promise<SessionState> {
    let state: SessionState;
    try {
      state = await this.client.workflow.getHandle(sessionId).query(sessionStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw new SessionNotFoundError(sessionId);
      // A run (or any other workflow) is not a session: it has no session state to query.
      if (error instanceof QueryNotRegisteredError && (await this.client.workflow.getHandle(sessionId).describe()).type !== sessionWorkflowType) {
        throw new SessionNotFoundError(sessionId);
      }
      throw error;
    }
    if (tenant !== undefined && state.tenant !== tenant) throw new SessionNotFoundError(sessionId);
    return state;
  }

  async send(sessionId: string, message: { input: string; maxSteps?: number; maxTokens?: number }, tenant?: string): Promise<string> {
    const state = await this.get(sessionId, tenant);
    if (state.running) {
      const run = await this.client.workflow.getHandle(state.running).describe();
      if (run.status.name === 'RUNNING') {
        throw new TurnRefusedError(`turn ${state.running} is still running; send the next message when it has ended`);
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const { runId } = await this.client.workflow.getHandle(sessionId).executeUpdate(sendMessageUpdate, { args: [message] });
        return runId;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new SessionNotFoundError(sessionId);
        const reason = error instanceof WorkflowUpdateFailedError ? (error.cause?.message ?? error.message) : undefined;
        // Continuing as new takes one workflow task; the next run of the session takes the message.
        if (reason === sessionContinuingMessage && attempt < 50) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        if (reason !== undefined) throw new TurnRefusedError(reason);
        throw error;
      }
    }
  }
}
