import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ApiError, type Session } from '../../../src/client';
import { useApi } from '../api-context';
import { useRun } from '../run/use-run';

// /sessions/:sessionId: the conversation as a chat: earlier turns loaded from the session, the
// running turn streaming (its run's events, like a run page), and a box for the next message.

export function SessionPage({ sessionId }: { sessionId: string }) {
  const { client } = useApi();
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();
  const [message, setMessage] = useState('');
  const [sending, setSending] = useState(false);
  // Turns this page follows live (the one running when it loaded, those sent from it): they stay
  // shown from their own stream, which has their text the moment they end.
  const [live, setLive] = useState<string[]>([]);
  const [running, setRunning] = useState<string>();

  const load = useCallback(async () => {
    try {
      const read = await client.getSession(sessionId);
      setSession(read);
      if (read.running) {
        const turn = read.running;
        setLive((turns) => (turns.includes(turn) ? turns : [...turns, turn]));
        setRunning(turn);
      }
      setError(undefined);
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  }, [client, sessionId]);

  useEffect(() => {
    void load();
  }, [load]);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    const input = message.trim();
    if (!input) return;
    setSending(true);
    setError(undefined);
    try {
      const sent = await client.sendMessage(sessionId, { input });
      setMessage('');
      setLive((turns) => [...turns, sent.runId]);
      setRunning(sent.runId);
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    } finally {
      setSending(false);
    }
  };

  const turns = (session?.turns ?? []).filter((turn) => !live.includes(turn.runId));
  const ended = useCallback((runId: string) => setRunning((current) => (current === runId ? undefined : current)), []);
  return (
    <div className="session-page">
      <h1>
        Session <code>{sessionId}</code>
      </h1>
      {error && (
        <p className="notice error" role="alert">
          {error}
        </p>
      )}
      <ol className="chat" aria-label="Conversation">
        {turns.map((turn) => (
          <li key={turn.runId} className="turn" data-run-id={turn.runId}>
            <p className="bubble user">{turn.input}</p>
            <div className={`bubble assistant ${turn.status}`}>
              <p data-testid="turn-text">{turn.output ?? (turn.status === 'running' ? '' : `(${turn.status})`)}</p>
              <Link href={`/runs/${turn.runId}`} className="quiet">
                the run
              </Link>
            </div>
          </li>
        ))}
        {live.map((runId) => (
          <LiveTurn key={runId} runId={runId} onEnd={ended} />
        ))}
      </ol>
      <form className="composer" onSubmit={(event) => void send(event)}>
        <label htmlFor="message" className="visually-hidden">
          Message
        </label>
        <textarea
          id="message"
          rows={2}
          value={message}
          onChange={(event) => setMessage(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && !event.shiftKey) {
              event.preventDefault();
              event.currentTarget.form?.requestSubmit();
            }
          }}
          placeholder={running ? 'Wait for the answer…' : 'Message'}
          disabled={!!running}
        />
        <button type="submit" disabled={sending || !!running || !message.trim()}>
          Send
        </button>
      </form>
    </div>
  );
}

function LiveTurn({ runId, onEnd }: { runId: string; onEnd: (runId: string) => void }) {
  const { model } = useRun(runId);
  const ended = model.ended;
  useEffect(() => {
    if (ended) onEnd(runId);
  }, [ended, onEnd, runId]);
  const tools = model.orderedSteps.flatMap((step) => (step.kind === 'tools' ? step.calls : []));
  return (
    <li className={`turn${ended ? '' : ' running'}`} data-run-id={runId}>
      <p className="bubble user">{model.input}</p>
      <div className="bubble assistant" aria-busy={!ended}>
        {tools.length > 0 && (
          <ul className="turn-tools" aria-label="Tools">
            {tools.map((call) => (
              <li key={call.callId}>
                {call.name}: {call.status}
              </li>
            ))}
          </ul>
        )}
        <p data-testid="turn-text">{model.text}</p>
        {(model.phase === 'failed' || model.phase === 'cancelled') && <p className="error">({model.phase}{model.error ? `: ${model.error.message}` : ''})</p>}
        <Link href={`/runs/${runId}`} className="quiet">
          the run
        </Link>
      </div>
    </li>
  );
}
