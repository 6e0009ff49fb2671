import { memo } from 'react';
import { duration, prettyJson } from '../format';
import { useNow } from '../use-now';
import type { ToolCallView } from './run-model';
import { TemporalLink } from './temporal-link';

// One tool call: what it was asked, a live progress bar with the time left, what it streams as
// it works, and its result or error when it lands; badges for a cached result and for retries.

interface Props {
  call: ToolCallView;
  version?: number;
  link?: string;
  runLink?: string;
  onWantLinks: () => void;
}

/** Time left: the worker's estimate at the last progress, counted down; or the tool's usual duration. */
function timeLeft(call: ToolCallView, now: number): number | undefined {
  if (call.etaMs !== undefined && call.etaAt !== undefined) return Math.max(0, call.etaMs - (now - call.etaAt));
  if (call.estimatedMs !== undefined) return Math.max(0, call.estimatedMs - (now - call.startedAt));
  return undefined;
}

export const ToolCard = memo(function ToolCard({ call, link, runLink, onWantLinks }: Props) {
  const running = call.status === 'running';
  const now = useNow(500, running);
  const fraction = call.status === 'completed' ? 1 : call.progress?.fraction;
  const left = running ? timeLeft(call, now) : undefined;
  const id = `call-${call.callId}`;
  return (
    <article className={`tool-card ${call.status}`} aria-labelledby={`${id}-name`} data-call-id={call.callId} data-status={call.status}>
      <header>
        <h4 id={`${id}-name`}>{call.name}</h4>
        <span className="badges">
          {call.finishedOrder !== undefined && (
            <span className="badge" title="order in which this step's calls finished">
              #{call.finishedOrder}
            </span>
          )}
          {call.cached && <span className="badge cached">cached</span>}
          {((call.attempts ?? 1) > 1 || call.outputAttempt > 1) && <span className="badge retry">{Math.max(call.attempts ?? 1, call.outputAttempt)} attempts</span>}
          <span className={`badge status ${call.status}`}>{call.status === 'running' ? 'running' : call.status === 'completed' ? 'done' : 'failed'}</span>
        </span>
      </header>
      <pre className="arguments" aria-label="arguments">
        {prettyJson(call.arguments)}
      </pre>
      <div
        className="progress"
        role="progressbar"
        aria-label={`${call.name} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(fraction !== undefined ? { 'aria-valuenow': Math.round(fraction * 100) } : {})}
        data-fraction={fraction ?? ''}
      >
        <div className={`bar${fraction === undefined && running ? ' indeterminate' : ''}`} style={{ width: `${Math.round((fraction ?? (running ? 0.3 : 1)) * 100)}%` }} />
      </div>
      <p className="progress-line">
        {call.progress?.message ?? (running ? 'working…' : '')}
        {left !== undefined && <span className="eta"> · about {duration(left)} left</span>}
      </p>
      {call.output && (
        <pre className="output" aria-label="streamed output" data-testid="tool-output">
          {call.output}
        </pre>
      )}
      {call.result !== undefined && (
        <details className="result" open={call.result.length < 400}>
          <summary>Result</summary>
          <pre data-testid="tool-result">{prettyJson(call.result)}</pre>
        </details>
      )}
      {call.error !== undefined && (
        <p className="error" data-testid="tool-error">
          {call.error}
        </p>
      )}
      <TemporalLink href={link} fallback={runLink} onWanted={onWantLinks} label={`${call.name} call in the Temporal Web UI`} />
    </article>
  );
});
