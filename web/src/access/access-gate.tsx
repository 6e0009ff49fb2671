import { useCallback, useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../../src/client';
import { ApiContext, clientFor, type Api } from '../api-context';
import { storedKey, storeKey } from './key-store';

// Asks for an API key when the API wants one (401 to a first read), checks it, and keeps it in
// session storage. An open API (no keys, loopback) goes straight in.

type Gate = { state: 'checking' } | { state: 'ask'; error?: string } | { state: 'in'; key?: string } | { state: 'down'; error: string };

export function AccessGate({ children }: { children: ReactNode }) {
  const [gate, setGate] = useState<Gate>({ state: 'checking' });

  const tryKey = useCallback(async (key: string | undefined) => {
    try {
      await clientFor(key).listRuns({ limit: 1 });
      storeKey(key);
      setGate({ state: 'in', ...(key ? { key } : {}) });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        storeKey(undefined);
        setGate({ state: 'ask', ...(key ? { error: error.status === 401 ? 'That key was not accepted.' : `That key cannot list runs (${error.code}).` } : {}) });
      } else setGate({ state: 'down', error: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  useEffect(() => {
    void tryKey(storedKey());
  }, [tryKey]);

  const api = useMemo<Api | undefined>(() => {
    if (gate.state !== 'in') return undefined;
    return {
      client: clientFor(gate.key),
      keyed: gate.key !== undefined,
      signOut: () => {
        storeKey(undefined);
        setGate({ state: 'ask' });
      },
    };
  }, [gate]);

  if (gate.state === 'checking') return <p className="notice" role="status">Connecting to the API…</p>;
  if (gate.state === 'down') {
    return (
      <div className="notice error" role="alert">
        <p>The API does not answer: {gate.error}</p>
        <button type="button" onClick={() => void tryKey(storedKey())}>Try again</button>
      </div>
    );
  }
  if (gate.state === 'ask') return <KeyPrompt error={gate.error} onKey={(key) => void tryKey(key)} />;
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

function KeyPrompt({ error, onKey }: { error?: string; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <form className="key-prompt panel" onSubmit={submit} aria-labelledby="key-title">
      <h1 id="key-title">API key</h1>
      <p>This API needs a key. It is kept in this tab&apos;s session storage only, and sent to this API only.</p>
      <label htmlFor="api-key">Key</label>
      <input id="api-key" type="password" autoComplete="off" value={key} onChange={(event) => setKey(event.target.value)} autoFocus aria-describedby={error ? 'key-error' : undefined} />
      {error && (
        <p id="key-error" className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Use this key</button>
    </form>
  );
}
