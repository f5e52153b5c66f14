// Configuration of a component: the environment-independent values and each
// environment's own, env vars and file mounts. Secrets are write-only: set or
// replaced here, never shown (the API never returns them). A change shows the
// deployment it caused.
import { useState } from 'preact/hooks';
import { get, post, del, seg, componentPath, canWrite } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { Time, Status, ErrorNote, Empty, Loading, Action, Form, Table, Mono } from '../components/ui.jsx';

const scopeQuery = (scope) => (scope === '' ? '' : `?env=${encodeURIComponent(scope)}`);

function Caused({ base, version, envs }) {
  const found = usePoll(async () => {
    const all = await Promise.all(envs.map((e) => get(`${base}/deployments?env=${encodeURIComponent(e)}`)));
    return all.flat().filter((d) => d.cause === 'config' && d.config_version >= version);
  }, [version], 1500);
  if (!found.data) return null;
  if (found.data.length === 0) {
    return <p class="muted" aria-live="polite">Saved as configuration version {version}. No deployment was affected (nothing active where it applies).</p>;
  }
  return (
    <div class="notice" aria-live="polite" data-caused>
      Saved as configuration version {version}; it caused:
      <ul>
        {found.data.map((d) => (
          <li data-deployment={d.id}>deployment #{d.seq} in {d.environment} <Status value={d.status} />{' '}
            <a href={`${base}/deploy`}>see it on the Deploy page</a></li>
        ))}
      </ul>
    </div>
  );
}

function Entries({ base, scope, write, reloadKey, onChanged }) {
  const list = usePoll(() => get(`${base}/configs${scopeQuery(scope)}`), [base, scope, reloadKey], 5000);
  if (list.error) return <ErrorNote error={list.error} what="Could not load the configuration" />;
  if (!list.data) return <Loading />;
  if (list.data.length === 0) return <Empty>No values {scope ? `of ${scope}'s own` : 'for every environment'} yet.</Empty>;
  return (
    <Table head={['Key', 'Kind', 'Value', 'Version', 'Updated', '']} label={`Configuration ${scope || 'for every environment'}`}>
      {list.data.map((x) => (
        <tr data-key={x.key}>
          <td><Mono>{x.key}</Mono></td>
          <td>{x.kind === 'file' ? <>file <Mono>{x.mount_path}</Mono></> : 'env var'}</td>
          <td>{x.secret ? <span class="badge badge-muted" title="write-only: never shown">secret · set</span>
            : <Mono>{x.value}</Mono>}</td>
          <td>{x.version}</td>
          <td><Time iso={x.updated_at} /> {x.updated_by}</td>
          <td>{write && (
            <Action run={() => del(`${base}/configs/${seg(x.key)}${scopeQuery(scope)}`)} kind="secondary"
              label={`Unset ${x.key}`} confirm={`Unset ${x.key}?`} onDone={() => { list.reload(); onChanged(); }}>Unset</Action>
          )}</td>
        </tr>
      ))}
    </Table>
  );
}

export function ConfigPage({ params }) {
  const { p, c } = params;
  const base = componentPath(p, c);
  const comp = useComponent(p, c);
  const project = usePoll(() => get(`/projects/${seg(p)}`), [p], 0);
  const envs = (project.data?.environments || []).map((e) => e.name);
  const [kind, setKind] = useState('env');
  const [secret, setSecret] = useState(false);
  const [saved, setSaved] = useState(null);
  const [tick, setTick] = useState(0);
  const write = canWrite();

  const save = async (form) => {
    const f = form.elements;
    const value = { key: f.key.value.trim(), value: f.value.value, kind, secret: f.secret.checked };
    if (kind === 'file') value.mount_path = f.mount_path.value.trim();
    const scope = f.scope.value;
    const body = { values: [value] };
    if (scope) body.env = scope;
    const r = await post(`${base}/configs`, body);
    // The value leaves the page once sent.
    f.value.value = '';
    const version = Math.max(...r.map((x) => x.version));
    setSaved({ version, envs: scope ? [scope] : envs });
    setTick((t) => t + 1);
  };

  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title="Configuration" />
      <ErrorNote error={project.error} what="Could not load the environments" />
      {write && project.data && (
        <section class="card" aria-labelledby="set-h">
          <h2 id="set-h">Set a value</h2>
          <Form onSubmit={save} label="Set a configuration value" class="grid-form">
            <label for="cfg-scope">Applies to</label>
            <select id="cfg-scope" name="scope">
              <option value="">every environment (environment-independent)</option>
              {envs.map((e) => <option value={e}>{e} only</option>)}
            </select>
            <label for="cfg-key">Key</label>
            <input id="cfg-key" name="key" required pattern="[A-Za-z_][A-Za-z0-9_.\-]*" autocomplete="off" spellcheck={false} />
            <label for="cfg-kind">Kind</label>
            <select id="cfg-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              <option value="env">environment variable</option>
              <option value="file">file mount</option>
            </select>
            {kind === 'file' && <>
              <label for="cfg-mount">Mount path</label>
              <input id="cfg-mount" name="mount_path" required placeholder="/etc/app/config.json" />
            </>}
            <label for="cfg-value">Value</label>
            {secret && kind === 'env'
              ? <input id="cfg-value" name="value" type="password" autocomplete="new-password" spellcheck={false} />
              : <textarea id="cfg-value" name="value" rows={kind === 'file' ? 5 : 1} autocomplete="off" spellcheck={false} />}
            <span />
            <label class="check"><input type="checkbox" name="secret" checked={secret}
              onChange={(e) => setSecret(e.currentTarget.checked)} /> Secret (write-only: never shown again)</label>
            <span />
            <button type="submit">Save</button>
          </Form>
          {saved && <Caused base={base} version={saved.version} envs={saved.envs} />}
        </section>
      )}
      <section aria-labelledby="all-h">
        <h2 id="all-h">Every environment</h2>
        <Entries base={base} scope="" write={write} reloadKey={tick} onChanged={() => setTick((t) => t + 1)} />
      </section>
      {envs.map((e) => (
        <section aria-labelledby={`cfg-${e}`}>
          <h2 id={`cfg-${e}`}>{e} only</h2>
          <Entries base={base} scope={e} write={write} reloadKey={tick} onChanged={() => setTick((t) => t + 1)} />
        </section>
      ))}
    </main>
  );
}
