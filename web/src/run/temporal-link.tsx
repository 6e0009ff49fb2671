import type { ReactNode } from 'react';

// A link to a place in the Temporal Web UI (a new tab). Until the exact page is known (the API
// reads it from the run's history on demand), it opens the run's history and asks for the rest.

export function TemporalLink({ href, fallback, onWanted, label, children }: { href?: string; fallback?: string; onWanted?: () => void; label: string; children?: ReactNode }) {
  const target = href ?? fallback;
  if (!target) return null;
  return (
    <a className="temporal-link" href={target} target="_blank" rel="noopener noreferrer" aria-label={label} title={label} data-exact={href ? 'true' : 'false'} onPointerEnter={href ? undefined : onWanted} onFocus={href ? undefined : onWanted}>
      {children ?? 'Temporal ↗'}
    </a>
  );
}
