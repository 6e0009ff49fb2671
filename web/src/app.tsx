import { Link, Route, Switch, useRoute } from 'wouter';
import { AccessGate } from './access/access-gate';
import { useApi } from './api-context';
import { RunPage } from './run/run-page';
import { RunsPage } from './runs/runs-page';
import { SessionPage } from './sessions/session-page';
import { SessionsPage } from './sessions/sessions-page';

export function App() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <AccessGate>
        <Header />
        <main id="main" tabIndex={-1}>
          <Switch>
            <Route path="/" component={RunsPage} />
            <Route path="/runs/:runId">{(params) => <RunPage key={params.runId} runId={params.runId} />}</Route>
            <Route path="/sessions" component={SessionsPage} />
            <Route path="/sessions/:sessionId">{(params) => <SessionPage key={params.sessionId} sessionId={params.sessionId} />}</Route>
            <Route>
              <p className="notice">No such page. <Link href="/">See the runs</Link>.</p>
            </Route>
          </Switch>
        </main>
      </AccessGate>
    </>
  );
}

function Header() {
  const { keyed, signOut } = useApi();
  const [onRuns] = useRoute('/');
  const [onSessions] = useRoute('/sessions/*?');
  return (
    <header className="top">
      <Link href="/" className="brand">
        durable-agents
      </Link>
      <nav aria-label="Console">
        <Link href="/" aria-current={onRuns ? 'page' : undefined}>
          Runs
        </Link>
        <Link href="/sessions" aria-current={onSessions ? 'page' : undefined}>
          Sessions
        </Link>
        <a href="/docs">API</a>
      </nav>
      {keyed && (
        <button type="button" className="quiet" onClick={signOut}>
          Forget key
        </button>
      )}
    </header>
  );
}
