// The Build page: the branch's commits each with a Build action, the
// builds (live), and the auto-build switch.
import { useLocation } from 'preact-iso';
import { get, post, patch, componentPath, canWrite } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { Time, Status, ErrorNote, Empty, Loading, Action, Table, Toggle, Mono } from '../components/ui.jsx';
import { shortSha, shortDigest, duration } from '../lib/format.js';

export function useComponent(p, c) {
  return usePoll(() => get(componentPath(p, c)), [p, c], 15000);
}

export function BuildPage({ params }) {
  const { p, c } = params;
  const base = componentPath(p, c);
  const { route } = useLocation();
  const comp = useComponent(p, c);
  const commits = usePoll(() => get(`${base}/commits?limit=10`), [p, c], 15000);
  const builds = usePoll(() => get(`${base}/builds`), [p, c], 2000);
  const write = canWrite();
  const build = async (commit) => {
    const b = await post(`${base}/builds`, commit ? { commit } : {});
    route(`${base}/builds/${b.id}`);
  };
  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title="Build" />
      <ErrorNote error={comp.error} what="Could not load the component" />
      {comp.data && (
        <Toggle label="Auto build" checked={comp.data.auto_build} disabled={!write}
          hint="(a push to the branch starts a build)"
          onChange={async (v) => { await patch(base, { auto_build: v }); await comp.reload(); }} />
      )}

      <section aria-labelledby="commits-h">
        <h2 id="commits-h">Commits on {comp.data?.branch || 'the branch'}</h2>
        <ErrorNote error={commits.error} what="Could not read the commits" />
        {commits.loading && <Loading />}
        {commits.data && commits.data.length === 0 && <Empty>The branch has no commits yet.</Empty>}
        {commits.data && commits.data.length > 0 && (
          <Table head={['Commit', 'Author', 'Time', 'Message', '']} label="Commits">
            {commits.data.map((m) => (
              <tr key={m.sha} data-sha={m.sha}>
                <td><Mono title={m.sha}>{shortSha(m.sha)}</Mono></td>
                <td>{m.author}</td>
                <td><Time iso={m.time} /></td>
                <td class="message">{m.message.split('\n')[0]}</td>
                <td>{write && <Action run={() => build(m.sha)} label={`Build commit ${shortSha(m.sha)}`}>Build</Action>}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>

      <section aria-labelledby="builds-h">
        <h2 id="builds-h">Builds</h2>
        <ErrorNote error={builds.error} what="Could not load the builds" />
        {builds.loading && <Loading />}
        {builds.data && builds.data.length === 0 && (
          <Empty>
            No builds yet{write ? ': ' : '.'}
            {write && <Action run={() => build(null)}>Build the latest commit</Action>}
          </Empty>
        )}
        {builds.data && builds.data.length > 0 && (
          <Table head={['Build', 'Status', 'Commit', 'Digest', 'Duration', 'Trigger', 'Started']} label="Builds">
            {builds.data.map((b) => (
              <tr key={b.id} data-build={b.id}>
                <td><a href={`${base}/builds/${b.id}`}>#{b.id}</a></td>
                <td><Status value={b.status} /></td>
                <td><Mono title={b.commit}>{shortSha(b.commit)}</Mono></td>
                <td>{b.digest ? <Mono title={b.digest}>{shortDigest(b.digest)}</Mono> : '—'}</td>
                <td>{duration(b.started_at, b.finished_at)}</td>
                <td>{b.trigger}{b.triggered_by ? ` (${b.triggered_by})` : ''}</td>
                <td><Time iso={b.started_at || b.created_at} /></td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </main>
  );
}
