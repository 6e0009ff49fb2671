import { useState } from 'react';
import { Link } from 'wouter';
import { type RunListStatus } from '../../../src/client';
import { age, cost, tokens } from '../format';
import { useNow } from '../use-now';
import { StartForm } from './start-form';
import { useRuns, type RunRow } from './use-runs';

// /: the caller's runs, newest first, live; filters by status; a form to start one.

const filters: Array<{ value: RunListStatus | undefined; label: string }> = [
  { value: undefined, label: 'All' },
  { value: 'running', label: 'Running' },
  { value: 'completed', label: 'Completed' },
  { value: 'failed', label: 'Failed' },
  { value: 'cancelled', label: 'Cancelled' },
];

export function RunsPage() {
  const [status, setStatus] = useState<RunListStatus>();
  const [cursors, setCursors] = useState<string[]>([]);
  const { rows, nextCursor, error } = useRuns(status, cursors.at(-1));
  const now = useNow(5000);
  const filter = (value: RunListStatus | undefined) => {
    setStatus(value);
    setCursors([]);
  };
  return (
    <div className="runs-page">
      <StartForm />
      <section aria-labelledby="runs-title" className="runs">
        <h1 id="runs-title">Runs</h1>
        <div className="filters" role="group" aria-label="Show">
          {filters.map((entry) => (
            <button key={entry.label} type="button" className="chip" aria-pressed={status === entry.value} onClick={() => filter(entry.value)}>
              {entry.label}
            </button>
          ))}
        </div>
        {error && (
          <p className="notice error" role="alert">
            {error}
          </p>
        )}
        {rows === undefined ? (
          <p role="status">Loading…</p>
        ) : rows.length === 0 ? (
          <p>No runs{status ? ` ${status}` : ''} yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Status</th>
                  <th scope="col">Model</th>
                  <th scope="col" className="number">
                    Steps
                  </th>
                  <th scope="col" className="number">
                    Tokens
                  </th>
                  <th scope="col" className="number">
                    Cost
                  </th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <Row key={row.runId} row={row} now={now} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div className="pager">
          {cursors.length > 0 && (
            <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
          )}
          {nextCursor && (
            <button type="button" onClick={() => setCursors([...cursors, nextCursor])}>
              Older
            </button>
          )}
        </div>
      </section>
    </div>
  );
}

function Row({ row, now }: { row: RunRow; now: number }) {
  const status = row.details?.status ?? row.status;
  const usage = row.details ? (row.details.streaming ? row.details.usage.totalTokens : row.details.usage.totalTokens) : undefined;
  return (
    <tr data-run-id={row.runId}>
      <td className="task-cell">
        <Link href={`/runs/${row.runId}`}>{row.input ?? row.details?.input ?? row.runId}</Link>
        {row.sessionId && (
          <>
            {' '}
            <Link href={`/sessions/${row.sessionId}`} className="badge">
              session
            </Link>
          </>
        )}
      </td>
      <td>
        <span className={`badge status ${status}`}>{status}</span>
      </td>
      <td>{row.model ?? row.details?.model ?? '—'}</td>
      <td className="number">{row.details?.stepCount ?? '—'}</td>
      <td className="number">{usage !== undefined ? tokens(usage) : '—'}</td>
      <td className="number">{cost(row.details?.cost)}</td>
      <td title={row.startedAt} className="nowrap">
        {age(row.startedAt, now)}
      </td>
    </tr>
  );
}
