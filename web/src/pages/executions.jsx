// Executions of a task component: running now, the history, the 30-day
// count, Run now with arguments; the schedule and its next runs.
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { get, post, seg, componentPath, canWrite } from '../lib/api.js';
import { usePoll } from '../lib/hooks.js';
import { ComponentNav, isTask } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { Time, Status, ErrorNote, Empty, Loading, Form, Table, Mono } from '../components/ui.jsx';
import { shortSha, duration } from '../lib/format.js';

function Rows({ base, list }) {
  return list.map((x) => (
    <tr data-execution={x.id}>
      <td><a href={`${base}/executions/${x.id}`}>{x.id}</a></td>
      <td>{x.trigger}</td>
      <td><Time iso={x.triggered_at} /></td>
      <td>deployment {x.deployment} · <Mono title={x.commit}>{shortSha(x.commit)}</Mono></td>
      <td>{x.environment}</td>
      <td><Status value={x.status} /></td>
      <td>{x.exit_code ?? '—'}</td>
      <td>{duration(x.started_at || x.triggered_at, x.finished_at)}</td>
    </tr>
  ));
}

const HEAD = ['Execution', 'Trigger', 'Triggered at', 'Revision', 'Environment', 'Status', 'Exit code', 'Duration'];

// "--full\n--since 2d" → ["--full", "--since 2d"]: one argument per line,
// so nothing is split behind the user's back.
const parseArgs = (text) => text.split('\n').map((s) => s.trim()).filter((s) => s.length);

export function ExecutionsPage({ params, query }) {
  const { p, c } = params;
  const base = componentPath(p, c);
  const { route } = useLocation();
  const comp = useComponent(p, c);
  const project = usePoll(() => get(`/projects/${seg(p)}`), [p], 0);
  const envs = (project.data?.environments || []).map((e) => e.name);
  const env = query.env || '';
  const q = env ? `env=${encodeURIComponent(env)}&` : '';
  const running = usePoll(() => get(`${base}/executions?${q}running=1`), [base, env], 2000);
  const history = usePoll(() => get(`${base}/executions?${q}limit=50`), [base, env], 3000);
  const count = usePoll(() => get(`${base}/executions/count${env ? `?env=${encodeURIComponent(env)}` : ''}`), [base, env], 10000);
  const [runEnv, setRunEnv] = useState('');
  const write = canWrite();
  const component = comp.data;

  const run = async (form) => {
    const x = await post(`${base}/executions`, { env: runEnv || envs[0], args: parseArgs(form.elements.args.value) });
    route(`${base}/executions/${x.id}`);
  };
  const list = (d) => (Array.isArray(d) ? d : d?.executions || []);
  const total = count.data?.last_30_days ?? history.data?.last_30_days;

  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={component} title="Executions" />
      {component && !isTask(component) && <Empty>{c} is a {component.type}, not a task: it has no executions.</Empty>}
      {component?.schedule && (
        <section class="card" aria-labelledby="sched-h">
          <h2 id="sched-h">Schedule</h2>
          <p><Mono>{component.schedule}</Mono> in {component.timezone || 'UTC'}</p>
          {component.next_runs?.length > 0 && (
            <>
              <p>Next runs:</p>
              <ul>{component.next_runs.map((t) => <li><Time iso={t} /></li>)}</ul>
            </>
          )}
        </section>
      )}
      <div class="row">
        <label for="exec-env">Environment</label>
        <select id="exec-env" value={env} onChange={(e) => route(`${base}/executions${e.currentTarget.value ? `?env=${encodeURIComponent(e.currentTarget.value)}` : ''}`, true)}>
          <option value="">all</option>
          {envs.map((e) => <option value={e}>{e}</option>)}
        </select>
        <p class="count">Last 30 days: <strong data-count>{total ?? '…'}</strong> executions</p>
      </div>
      {write && envs.length > 0 && (
        <section class="card" aria-labelledby="run-h">
          <h2 id="run-h">Run now</h2>
          <Form onSubmit={run} label="Run the task now" class="grid-form">
            <label for="run-env">Environment</label>
            <select id="run-env" value={runEnv || envs[0]} onChange={(e) => setRunEnv(e.currentTarget.value)}>
              {envs.map((e) => <option value={e}>{e}</option>)}
            </select>
            <label for="run-args">Arguments, one per line</label>
            <textarea id="run-args" name="args" rows={2} spellcheck={false} placeholder="--full" />
            <span />
            <button type="submit">Run now</button>
          </Form>
        </section>
      )}
      <section aria-labelledby="running-h">
        <h2 id="running-h">Running now</h2>
        <ErrorNote error={running.error} what="Could not load the running executions" />
        {running.data && list(running.data).length === 0 && <p class="muted">Nothing is running.</p>}
        {running.data && list(running.data).length > 0 && (
          <Table head={HEAD} label="Running executions"><Rows base={base} list={list(running.data)} /></Table>
        )}
      </section>
      <section aria-labelledby="hist-h">
        <h2 id="hist-h">History</h2>
        <ErrorNote error={history.error} what="Could not load the executions" />
        {history.loading && <Loading />}
        {history.data && list(history.data).length === 0 && (
          <Empty>No executions yet{write ? ': Run now above, or wait for the schedule.' : '.'}</Empty>
        )}
        {history.data && list(history.data).length > 0 && (
          <Table head={HEAD} label="Execution history"><Rows base={base} list={list(history.data)} /></Table>
        )}
      </section>
    </main>
  );
}
