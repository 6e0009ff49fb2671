import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../src/client';
import { useApi } from '../api-context';
import { prettyJson } from '../format';
import type { ApprovalCallView } from './run-model';

// A call that needs a human: its arguments, approve or deny (with a reason). The decision shows
// at once (from the API's answer), and again when its event comes.

export function ApprovalCard({ runId, call, open }: { runId: string; call: ApprovalCallView; open: boolean }) {
  const { client } = useApi();
  const [reason, setReason] = useState('');
  const [sent, setSent] = useState<{ decision: string; reason?: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const decision = call.decision ?? sent?.decision;
  const shownReason = call.reason ?? sent?.reason;

  const decide = async (approve: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const trimmed = reason.trim();
      const answer = await client.decide(runId, call.callId, { approve, ...(trimmed ? { reason: trimmed } : {}) });
      setSent({ decision: answer.decision, ...(trimmed ? { reason: trimmed } : {}) });
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void decide(true);
  };

  return (
    <article className={`approval-card ${decision ?? 'pending'}`} data-call-id={call.callId} data-decision={decision ?? 'pending'} aria-label={`Approval for ${call.name}`}>
      <header>
        <h4>{call.name}</h4>
        <span className={`badge decision ${decision ?? 'pending'}`}>{decision === 'timed_out' ? 'timed out (denied)' : (decision ?? 'waiting for approval')}</span>
      </header>
      <pre className="arguments" aria-label="arguments">
        {prettyJson(call.arguments)}
      </pre>
      {decision ? (
        shownReason && <p className="reason">Reason: {shownReason}</p>
      ) : open ? (
        <form onSubmit={submit} className="decide">
          <label htmlFor={`reason-${call.callId}`}>Reason (optional)</label>
          <input id={`reason-${call.callId}`} value={reason} onChange={(event) => setReason(event.target.value)} maxLength={1000} />
          <div className="buttons">
            <button type="submit" disabled={busy}>
              Approve
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => void decide(false)}>
              Deny
            </button>
          </div>
        </form>
      ) : null}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}
