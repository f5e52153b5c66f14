// The Deploy page: the setup area (a successful build → the first
// environment), one card per environment with its active deployment,
// health, URL, Promote, history with rollback, undeploy; auto-deploy.
import { useState } from 'preact/hooks';
import { get, post, patch, componentPath, canWrite } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { Time, Status, ErrorNote, Empty, Loading, Action, Toggle, Mono } from '../components/ui.jsx';
import { shortSha, shortDigest } from '../lib/format.js';

async function load(base) {
  const status = await get(`${base}/status`);
  const [builds, ...histories] = await Promise.all([
    get(`${base}/builds`),
    ...status.environments.map((e) => get(`${base}/deployments?env=${encodeURIComponent(e.name)}`)),
  ]);
  return { status, builds, histories };
}

function SetupArea({ base, builds, first, write, reload }) {
  const ok = builds.filter((b) => b.status === 'succeeded');
  const [pick, setPick] = useState('');
  const chosen = pick || (ok[0] ? String(ok[0].id) : '');
  return (
    <section class="card setup" aria-labelledby="setup-h">
      <h2 id="setup-h">Setup area</h2>
      {ok.length === 0 ? (
        <Empty>No successful build to deploy yet: <a href={`${base}/build`}>build a commit</a> first.</Empty>
      ) : (
        <>
          <label for="setup-build">Build to deploy</label>
          <select id="setup-build" value={chosen} onChange={(e) => setPick(e.currentTarget.value)} disabled={!write}>
            {ok.map((b) => (
              <option value={String(b.id)}>#{b.id} · {shortSha(b.commit)} · {shortDigest(b.digest)}</option>
            ))}
          </select>
          {write && (
            <Action run={() => post(`${base}/deploy`, { build: Number(chosen) })} onDone={reload}>
              Deploy to {first}
            </Action>
          )}
        </>
      )}
    </section>
  );
}

function EnvCard({ base, env, next, history, write, reload }) {
  const d = env.deployment;
  const active = history.find((x) => x.status === 'active');
  return (
    <section class="card env" aria-labelledby={`env-${env.name}`} data-env={env.name}>
      <h2 id={`env-${env.name}`}>{env.name}</h2>
      {!d ? <Empty>Nothing deployed here yet.</Empty> : (
        <>
          <p data-current={d.id}>
            <Status value={d.status} />{' '}
            {env.healthy ? <span class="badge badge-ok" data-health="healthy">healthy</span>
              : <span class="badge badge-bad" data-health="unhealthy">unhealthy</span>}
          </p>
          {env.url && <p><a class="env-url" href={env.url} target="_blank" rel="noopener noreferrer">{env.url}</a></p>}
          <dl class="facts">
            <dt>Deployment</dt><dd>#{d.seq} (id {d.id}, {d.cause}{d.promoted_from ? ` from ${d.promoted_from}` : ''})</dd>
            <dt>Build</dt><dd><a href={`${base}/builds/${d.build}`}>#{d.build}</a> · <Mono title={d.commit}>{shortSha(d.commit)}</Mono></dd>
            <dt>Digest</dt><dd><Mono title={d.digest}>{shortDigest(d.digest)}</Mono></dd>
            <dt>Config version</dt><dd>{d.config_version}</dd>
            <dt>By</dt><dd>{d.created_by}, <Time iso={d.created_at} /></dd>
          </dl>
          {d.error && <p class="error">{d.error}</p>}
        </>
      )}
      <div class="buttons">
        {write && next && d && (
          <Action run={() => post(`${base}/promote`, { to: next, from: env.name })} onDone={reload}>
            Promote to {next}
          </Action>
        )}
        {write && active && (
          <Action run={() => post(`${base}/undeploy`, { env: env.name })} kind="danger" onDone={reload}
            confirm={`Stop ${env.name}'s deployment and remove its route?`}>Undeploy</Action>
        )}
        <a href={`${base}/logs/${encodeURIComponent(env.name)}`}>Runtime logs</a>
      </div>
      {history.length > 0 && (
        <details class="history">
          <summary>History ({history.length})</summary>
          <ol>
            {history.map((h) => (
              <li data-deployment={h.id}>
                #{h.seq} <Status value={h.status} /> {h.cause} · build {h.build} ·{' '}
                <Mono title={h.digest}>{shortDigest(h.digest)}</Mono> · config {h.config_version} · <Time iso={h.created_at} />
                {write && h.status === 'superseded' && (!active || h.id !== active.id) && (
                  <Action run={() => post(`${base}/rollback`, { env: env.name, to: h.id })} onDone={reload}
                    label={`Roll back ${env.name} to deployment #${h.seq}`}>Roll back</Action>
                )}
              </li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}

export function DeployPage({ params }) {
  const { p, c } = params;
  const base = componentPath(p, c);
  const comp = useComponent(p, c);
  const { data, error, loading, reload } = usePoll(() => load(base), [p, c], 2000);
  const write = canWrite();
  const envs = data?.status.environments || [];
  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title="Deploy" />
      {comp.data && (
        <Toggle label="Auto deploy" checked={comp.data.auto_deploy} disabled={!write}
          hint={`(a successful build goes to ${envs[0]?.name || 'the first environment'} by itself)`}
          onChange={async (v) => { await patch(base, { auto_deploy: v }); await comp.reload(); }} />
      )}
      <ErrorNote error={error} what="Could not load the deployments" />
      {loading && <Loading />}
      {data && (
        <div class="cards">
          <SetupArea base={base} builds={data.builds} first={envs[0]?.name} write={write} reload={reload} />
          {envs.map((e, i) => (
            <EnvCard base={base} env={e} next={envs[i + 1]?.name} history={data.histories[i]} write={write} reload={reload} />
          ))}
        </div>
      )}
    </main>
  );
}
