import { useEffect, useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { ApiError, type ToolInfo } from '../../../src/client';
import { useApi } from '../api-context';

// Start a run: the task, and optionally a system prompt, a model, the tools it may use and a
// step limit. Empty fields are the API's defaults. A started run opens its page.

export function StartForm() {
  const { client } = useApi();
  const [, navigate] = useLocation();
  const [tools, setTools] = useState<ToolInfo[]>();
  const [input, setInput] = useState('');
  const [system, setSystem] = useState('');
  const [model, setModel] = useState('');
  const [chosen, setChosen] = useState<Set<string>>();
  const [maxSteps, setMaxSteps] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    client
      .listTools({ signal: abort.signal })
      .then(setTools)
      .catch(() => setTools([]));
    return () => abort.abort();
  }, [client]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const created = await client.createRun({
        input,
        ...(system.trim() ? { system: system.trim() } : {}),
        ...(model.trim() ? { model: model.trim() } : {}),
        ...(chosen ? { tools: [...chosen] } : {}),
        ...(maxSteps ? { maxSteps: Number(maxSteps) } : {}),
      });
      navigate(`/runs/${created.runId}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
      setBusy(false);
    }
  };

  const toggle = (name: string) => {
    const next = new Set(chosen ?? tools?.map((tool) => tool.name) ?? []);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    setChosen(next);
  };

  return (
    <form className="start-form panel" onSubmit={(event) => void submit(event)} aria-labelledby="start-title">
      <h2 id="start-title">Start a run</h2>
      <label htmlFor="task">Task</label>
      <textarea id="task" required rows={3} value={input} onChange={(event) => setInput(event.target.value)} placeholder="What is 12*7, wait 3 seconds and tell me the time in Asia/Tokyo" />
      <details>
        <summary>Options</summary>
        <div className="options">
          <label htmlFor="system">System prompt</label>
          <textarea id="system" rows={2} value={system} onChange={(event) => setSystem(event.target.value)} />
          <label htmlFor="model">Model</label>
          <input id="model" value={model} onChange={(event) => setModel(event.target.value)} placeholder="the API's default" />
          <label htmlFor="max-steps">Max steps</label>
          <input id="max-steps" type="number" min={1} value={maxSteps} onChange={(event) => setMaxSteps(event.target.value)} placeholder="the API's default" />
          <fieldset>
            <legend>Tools</legend>
            {tools === undefined ? (
              <p>Loading the tools…</p>
            ) : tools.length === 0 ? (
              <p>No tools listed.</p>
            ) : (
              tools.map((tool) => (
                <label key={tool.name} className="check" title={tool.description}>
                  <input type="checkbox" checked={chosen ? chosen.has(tool.name) : true} onChange={() => toggle(tool.name)} /> {tool.name}
                  {tool.policy.needsApproval && <span className="badge">approval</span>}
                </label>
              ))
            )}
          </fieldset>
        </div>
      </details>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || !input.trim()}>
        {busy ? 'Starting…' : 'Start'}
      </button>
    </form>
  );
}
