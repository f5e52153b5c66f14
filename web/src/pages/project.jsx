// A project's overview: every component, and per environment in promotion
// order its active deployment, health and URL.
import { get, seg, componentPath } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { Status, ErrorNote, Empty, Loading, Table, Mono } from '../components/ui.jsx';
import { shortDigest } from '../lib/format.js';
import { isTask } from '../components/component_nav.jsx';

async function load(p) {
  const [project, components] = await Promise.all([
    get(`/projects/${seg(p)}`), get(`/projects/${seg(p)}/components`)]);
  const statuses = await Promise.all(components.map((c) => get(`${componentPath(p, c.name)}/status`)));
  return { project, components, statuses };
}

function EnvCell({ env }) {
  const d = env.deployment;
  if (!d) return <span class="muted">not deployed</span>;
  return (
    <div class="cell">
      <Status value={d.status} />{' '}
      {env.healthy ? <span class="badge badge-ok">healthy</span> : <span class="badge badge-bad">unhealthy</span>}
      <div class="small">build {d.build} · <Mono title={d.digest}>{shortDigest(d.digest)}</Mono></div>
      {env.url && <div class="small"><a href={env.url} target="_blank" rel="noopener noreferrer">{env.url}</a></div>}
    </div>
  );
}

export function Project({ params }) {
  const { p } = params;
  const { data, error, loading } = usePoll(() => load(p), [p], 3000);
  const envs = data?.project.environments || [];
  return (
    <main id="main">
      <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Projects</a> / <span>{p}</span></nav>
      <h1>{p}</h1>
      <ErrorNote error={error} what="Could not load the project" />
      {loading && <Loading />}
      {data && (
        <p class="muted">Environments in promotion order: {envs.map((e) => e.name + (e.production ? ' (production)' : '')).join(' → ')}</p>
      )}
      {data && data.components.length === 0 && (
        <Empty>No components yet: add one with <code>ferry component create {p}/NAME --repo URL</code>.</Empty>
      )}
      {data && data.components.length > 0 && (
        <Table head={['Component', 'Type', ...envs.map((e) => e.name)]} label="Components by environment">
          {data.components.map((c, i) => {
            const st = data.statuses[i];
            const byName = Object.fromEntries(st.environments.map((e) => [e.name, e]));
            const base = componentPath(p, c.name);
            return (
              <tr key={c.id}>
                <td>
                  <a href={`${base}/build`}><strong>{c.name}</strong></a>
                  <div class="small links">
                    <a href={`${base}/build`}>Build</a> <a href={`${base}/deploy`}>Deploy</a>{' '}
                    <a href={`${base}/config`}>Configuration</a>
                    {isTask(c) && <> <a href={`${base}/executions`}>Executions</a></>}
                  </div>
                </td>
                <td>{c.type}</td>
                {envs.map((e) => <td key={e.name}>{byName[e.name] ? <EnvCell env={byName[e.name]} /> : '—'}</td>)}
              </tr>
            );
          })}
        </Table>
      )}
    </main>
  );
}
