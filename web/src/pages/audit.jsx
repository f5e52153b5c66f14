// Admin: the audit log, filtered by project (on the server) and by action
// and actor; the filters are in the URL, so a view can be bookmarked.
import { useLocation } from 'preact-iso';
import { get, isAdmin } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { Time, ErrorNote, Empty, Loading, Table } from '../components/ui.jsx';

function Filter({ id, label, value, onChange, options }) {
  return (
    <span class="filter">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map(([v, text]) => <option value={v}>{text}</option>)}
      </select>
    </span>
  );
}

export function Audit() {
  const { query, route } = useLocation();
  const project = query.project || '';
  const action = query.action || '';
  const actor = query.actor || '';
  const limit = query.limit || '200';
  const list = usePoll(() => get(`/audit?limit=${encodeURIComponent(limit)}${project ? `&project=${encodeURIComponent(project)}` : ''}`),
    [project, limit], 5000);
  const projects = usePoll(() => get('/projects'), [], 0);
  if (!isAdmin()) return <main id="main"><h1>Audit log</h1><p>This needs an admin token.</p></main>;
  const set = (k, v) => {
    const q = new URLSearchParams({ project, action, actor, limit });
    if (v) q.set(k, v); else q.delete(k);
    for (const [key, val] of [...q]) if (!val) q.delete(key);
    route(`/admin/audit${q.toString() ? `?${q}` : ''}`, true);
  };
  const rows = (list.data || []).filter((a) => (!action || a.action.startsWith(action)) && (!actor || a.actor === actor));
  const actions = [...new Set((list.data || []).map((a) => a.action))].sort();
  const actors = [...new Set((list.data || []).map((a) => a.actor))].sort();
  return (
    <main id="main">
      <h1>Audit log</h1>
      <div class="filters" role="search" aria-label="Filter the audit log">
        <Filter id="audit-project" label="Project" value={project} onChange={(v) => set('project', v)}
          options={[['', 'all'], ...(projects.data || []).map((p) => [p.name, p.name])]} />
        <Filter id="audit-action" label="Action" value={action} onChange={(v) => set('action', v)}
          options={[['', 'all'], ...[...new Set(actions.map((a) => a.split('.')[0]))].map((g) => [`${g}.`, `${g}.*`]),
            ...actions.map((a) => [a, a])]} />
        <Filter id="audit-actor" label="Actor" value={actor} onChange={(v) => set('actor', v)}
          options={[['', 'all'], ...actors.map((a) => [a, a])]} />
        <Filter id="audit-limit" label="Newest" value={limit} onChange={(v) => set('limit', v)}
          options={['50', '200', '500', '1000'].map((n) => [n, n])} />
      </div>
      <ErrorNote error={list.error} what="Could not load the audit log" />
      {list.loading && <Loading />}
      {list.data && rows.length === 0 && <Empty>No entries match.</Empty>}
      {rows.length > 0 && (
        <Table head={['Time', 'Actor', 'Action', 'Object', 'Project', 'Result']} label="Audit log">
          {rows.map((a) => (
            <tr data-audit={a.id}>
              <td><Time iso={a.time} /></td>
              <td>{a.actor} <span class="muted small">{a.role}</span></td>
              <td><code>{a.action}</code></td>
              <td>{a.object}</td>
              <td>{a.project || '—'}</td>
              <td class={a.status >= 400 ? 'error' : ''}>{a.status} {a.result}</td>
            </tr>
          ))}
        </Table>
      )}
    </main>
  );
}
