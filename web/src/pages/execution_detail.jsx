import { useEffect } from 'preact/hooks';
import { get, post, componentPath, canWrite } from '../lib/api.js';
import { usePoll, useFollow } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { Time, Status, ErrorNote, Loading, Action, Mono, LogView } from '../components/ui.jsx';
import { shortSha, duration, FINAL } from '../lib/format.js';

export function ExecutionDetail({ params }) {
  const { p, c, id } = params;
  const base = componentPath(p, c);
  const comp = useComponent(p, c);
  const x = usePoll(() => get(`/executions/${encodeURIComponent(id)}`), [id], 1500);
  const { lines, end } = useFollow(`/api/v1/executions/${encodeURIComponent(id)}/log`);
  // The stream's end is news: show the final state at once.
  useEffect(() => { if (end) x.reload(); }, [end]);
  const e = x.data;
  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title={`Execution ${id}`} />
      <p><a href={`${base}/executions`}>← all executions</a></p>
      <ErrorNote error={x.error} what="Could not load the execution" />
      {x.loading && <Loading />}
      {e && (
        <>
          <dl class="facts">
            <dt>Status</dt><dd><Status value={e.status} /> {e.reason && <span class="muted">{e.reason}</span>}</dd>
            <dt>Exit code</dt><dd data-exit-code>{e.exit_code ?? '—'}</dd>
            <dt>Environment</dt><dd>{e.environment}</dd>
            <dt>Trigger</dt><dd>{e.trigger}</dd>
            <dt>Triggered at</dt><dd><Time iso={e.triggered_at} /></dd>
            <dt>Revision</dt><dd>deployment {e.deployment} · <Mono title={e.commit}>{shortSha(e.commit)}</Mono></dd>
            {e.args && <><dt>Arguments</dt><dd><Mono>{JSON.stringify(e.args)}</Mono></dd></>}
            <dt>Duration</dt><dd>{duration(e.started_at || e.triggered_at, e.finished_at)}</dd>
          </dl>
          {!FINAL.has(e.status) && canWrite() && (
            <Action run={() => post(`/executions/${encodeURIComponent(id)}/cancel`)} kind="danger" onDone={x.reload}>Cancel</Action>
          )}
        </>
      )}
      <h2>Log</h2>
      <LogView lines={lines} render={(l) => l.line} label="Execution log" />
      <p class="muted small" aria-live="polite" data-log-end={end ? end.status || 'error' : ''}>
        {end ? (end.error && !end.status ? `Log: ${end.error}` : `Log complete: ${end.status}${end.exit_code != null ? `, exit code ${end.exit_code}` : ''}.`) : 'Streaming live…'}
      </p>
    </main>
  );
}
