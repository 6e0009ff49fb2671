import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { ApiError } from '../../../src/client';
import { useApi } from '../api-context';

// /sessions: start a conversation, open one by id, or pick one of the recent ones (the sessions
// of the caller's latest runs: turns are runs that name their session).

export function SessionsPage() {
  const { client } = useApi();
  const [, navigate] = useLocation();
  const [recent, setRecent] = useState<string[]>();
  const [system, setSystem] = useState('');
  const [openId, setOpenId] = useState('');
  const [error, setError] = useState<string>();

  useEffect(() => {
    const abort = new AbortController();
    client
      .listRuns({ limit: 100 }, { signal: abort.signal })
      .then((page) => setRecent([...new Set(page.runs.flatMap((run) => (run.sessionId ? [run.sessionId] : [])))]))
      .catch(() => setRecent([]));
    return () => abort.abort();
  }, [client]);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const created = await client.createSession(system.trim() ? { system: system.trim() } : {});
      navigate(`/sessions/${created.sessionId}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  };

  return (
    <div className="sessions-page">
      <h1>Sessions</h1>
      <form className="panel" onSubmit={(event) => void start(event)} aria-labelledby="new-session">
        <h2 id="new-session">New session</h2>
        <label htmlFor="session-system">System prompt (optional)</label>
        <textarea id="session-system" rows={2} value={system} onChange={(event) => setSystem(event.target.value)} />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">Start a session</button>
      </form>
      <form
        className="panel"
        onSubmit={(event) => {
          event.preventDefault();
          if (openId.trim()) navigate(`/sessions/${encodeURIComponent(openId.trim())}`);
        }}
        aria-labelledby="open-session"
      >
        <h2 id="open-session">Open a session</h2>
        <label htmlFor="session-id">Session id</label>
        <input id="session-id" value={openId} onChange={(event) => setOpenId(event.target.value)} />
        <button type="submit">Open</button>
      </form>
      <section className="panel" aria-labelledby="recent-sessions">
        <h2 id="recent-sessions">Recent</h2>
        {recent === undefined ? (
          <p role="status">Loading…</p>
        ) : recent.length === 0 ? (
          <p>No session has a turn among your latest runs.</p>
        ) : (
          <ul>
            {recent.map((sessionId) => (
              <li key={sessionId}>
                <Link href={`/sessions/${sessionId}`}>
                  <code>{sessionId}</code>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
