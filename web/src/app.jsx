// The console: session bootstrap, the layout and the route table (preact-iso).
import { LocationProvider, Router, Route, useLocation } from 'preact-iso';
import { useEffect } from 'preact/hooks';
import { session, loadSession, signOut, isAdmin } from './lib/api.js';
import { Action } from './components/ui.jsx';
import { SignIn } from './pages/signin.jsx';
import { Projects } from './pages/projects.jsx';
import { Project } from './pages/project.jsx';
import { BuildPage } from './pages/build.jsx';
import { BuildDetail } from './pages/build_detail.jsx';
import { DeployPage } from './pages/deploy.jsx';
import { ConfigPage } from './pages/config.jsx';
import { ExecutionsPage } from './pages/executions.jsx';
import { ExecutionDetail } from './pages/execution_detail.jsx';
import { RuntimeLogs } from './pages/runtime_logs.jsx';
import { Tokens } from './pages/tokens.jsx';
import { Audit } from './pages/audit.jsx';

const C = '/projects/:p/components/:c';

function NotFound() {
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>There is no page at this address. <a href="/">Back to the projects</a>.</p>
    </main>
  );
}

function Header() {
  const who = session.value?.who;
  const { path } = useLocation();
  const current = (p) => (path === p || (p !== '/' && path.startsWith(p)) ? 'page' : undefined);
  return (
    <header class="top">
      <a class="skip" href="#main">Skip to content</a>
      <a class="brand" href="/">ferry</a>
      <nav aria-label="Main">
        <a href="/" aria-current={current('/') && path === '/' ? 'page' : undefined}>Projects</a>
        {isAdmin() && <a href="/admin/tokens" aria-current={current('/admin/tokens')}>Tokens</a>}
        {isAdmin() && <a href="/admin/audit" aria-current={current('/admin/audit')}>Audit log</a>}
      </nav>
      <div class="who">
        <span title={`token ${who.token_id}${who.scoped ? ', scoped to one project' : ''}`}>
          {who.name} <span class="badge badge-muted">{who.role}</span>
        </span>
        <Action run={signOut} kind="secondary">Sign out</Action>
      </div>
    </header>
  );
}

function Routes() {
  return (
    <Router>
      <Route path="/" component={Projects} />
      <Route path="/projects/:p" component={Project} />
      <Route path={C} component={BuildPage} />
      <Route path={`${C}/build`} component={BuildPage} />
      <Route path={`${C}/builds/:id`} component={BuildDetail} />
      <Route path={`${C}/deploy`} component={DeployPage} />
      <Route path={`${C}/config`} component={ConfigPage} />
      <Route path={`${C}/executions`} component={ExecutionsPage} />
      <Route path={`${C}/executions/:id`} component={ExecutionDetail} />
      <Route path={`${C}/logs/:env`} component={RuntimeLogs} />
      <Route path="/admin/tokens" component={Tokens} />
      <Route path="/admin/audit" component={Audit} />
      <Route default component={NotFound} />
    </Router>
  );
}

export function App() {
  useEffect(() => { loadSession().catch(() => {}); }, []);
  const s = session.value;
  if (s === undefined) return <p class="muted center" aria-busy="true">Loading…</p>;
  return (
    <LocationProvider>
      {s === null ? <SignIn /> : (<><Header /><Routes /></>)}
    </LocationProvider>
  );
}
