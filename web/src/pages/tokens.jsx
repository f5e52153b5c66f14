// Admin: API tokens. A new token is shown once, here; revoke ends its
// sessions too.
import { useState } from 'preact/hooks';
import { get, post, del, isAdmin } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { Time, ErrorNote, Loading, Action, Form, Table } from '../components/ui.jsx';

export function Tokens() {
  const list = usePoll(() => get('/tokens'), [], 10000);
  const projects = usePoll(() => get('/projects'), [], 0);
  const [created, setCreated] = useState(null);
  if (!isAdmin()) return <main id="main"><h1>Tokens</h1><p>This needs an admin token.</p></main>;
  const create = async (form) => {
    const f = form.elements;
    const body = { role: f.role.value };
    if (f.name.value.trim()) body.name = f.name.value.trim();
    if (f.project.value) body.project = f.project.value;
    setCreated(await post('/tokens', body));
    form.reset();
    list.reload();
  };
  return (
    <main id="main">
      <h1>Tokens</h1>
      <section class="card" aria-labelledby="new-h">
        <h2 id="new-h">Create a token</h2>
        <Form onSubmit={create} label="Create a token" class="grid-form">
          <label for="tok-name">Name</label>
          <input id="tok-name" name="name" maxLength={63} placeholder="ci-deployer" />
          <label for="tok-role">Role</label>
          <select id="tok-role" name="role">
            <option value="viewer">viewer (read)</option>
            <option value="developer">developer (build, deploy, configure)</option>
            <option value="admin">admin (everything)</option>
          </select>
          <label for="tok-project">Project</label>
          <select id="tok-project" name="project">
            <option value="">every project</option>
            {(projects.data || []).map((p) => <option value={p.name}>{p.name} only</option>)}
          </select>
          <span />
          <button type="submit">Create</button>
        </Form>
        {created && (
          <div class="notice" role="status">
            <p>Token <strong>{created.name}</strong> ({created.role}) — copy it now: it is shown only once.</p>
            <input class="mono wide" readOnly value={created.token} aria-label="The new token" onFocus={(e) => e.currentTarget.select()} />
            <button type="button" class="secondary" onClick={() => setCreated(null)}>Done, hide it</button>
          </div>
        )}
      </section>
      <ErrorNote error={list.error} what="Could not load the tokens" />
      {list.loading && <Loading />}
      {list.data && (
        <Table head={['Id', 'Name', 'Role', 'Project', 'Created', 'Revoked', '']} label="Tokens">
          {list.data.map((t) => (
            <tr data-token={t.id}>
              <td>{t.id}</td><td>{t.name}</td><td>{t.role}</td><td>{t.project || 'every project'}</td>
              <td><Time iso={t.created_at} /></td>
              <td>{t.revoked_at ? <Time iso={t.revoked_at} /> : '—'}</td>
              <td>{!t.revoked_at && (
                <Action run={() => del(`/tokens/${t.id}`)} kind="danger" label={`Revoke token ${t.name}`}
                  confirm={`Revoke token ${t.name}? Its users and sessions stop working at once.`} onDone={list.reload}>Revoke</Action>
              )}</td>
            </tr>
          ))}
        </Table>
      )}
    </main>
  );
}
