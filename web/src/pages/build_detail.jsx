// One build: its steps with their logs streamed live, the scan summary and
// every finding, the endpoints and API specs recorded; cancel.
import { useEffect } from 'preact/hooks';
import { get, post, componentPath, canWrite } from '../lib/api.js';
import { usePoll, useFollow } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { Time, Status, ErrorNote, Loading, Action, Table, Mono, LogView } from '../components/ui.jsx';
import { duration, FINAL } from '../lib/format.js';

const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'];

function Scan({ id, done }) {
  const scan = usePoll(() => get(`/builds/${id}/scan`), [id, done], 0);
  if (scan.error) return scan.error.status === 404 ? <p class="muted">No scan report.</p>
    : <ErrorNote error={scan.error} what="Could not load the scan" />;
  if (!scan.data) return <Loading />;
  const s = scan.data;
  return (
    <>
      <p>
        {s.passed ? <span class="badge badge-ok">passed</span> : <span class="badge badge-bad">failed</span>}
        {' '}fails on {s.fail_on}{s.reason ? ` — ${s.reason}` : ''}
      </p>
      <ul class="severity" aria-label="Findings by severity">
        {SEVERITIES.map((k) => <li class={`sev sev-${k.toLowerCase()}`}>{k} <strong>{s.summary[k] ?? 0}</strong></li>)}
      </ul>
      {s.findings.length === 0 ? <p class="muted">No findings.</p> : (
        <Table head={['Severity', 'Type', 'Finding', 'Package', 'Installed', 'Fixed in', 'Where']} label="Findings">
          {s.findings.map((f) => (
            <tr>
              <td><span class={`sev sev-${(f.severity || '').toLowerCase()}`}>{f.severity}</span></td>
              <td>{f.type}</td>
              <td><Mono>{f.id}</Mono> {f.title}</td>
              <td>{f.package || ''}</td>
              <td>{f.installed_version || ''}</td>
              <td>{f.fixed_version || ''}</td>
              <td>{f.where || ''}</td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

export function BuildDetail({ params }) {
  const { p, c, id } = params;
  const base = componentPath(p, c);
  const comp = useComponent(p, c);
  const b = usePoll(() => get(`/builds/${id}`), [id], 1500);
  const { lines, end } = useFollow(`/api/v1/builds/${encodeURIComponent(id)}/log`);
  // The stream's end is news: show the final state at once.
  useEffect(() => { if (end) b.reload(); }, [end]);
  const build = b.data;
  const running = build && !FINAL.has(build.status);
  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title={`Build #${id}`} />
      <ErrorNote error={b.error} what="Could not load the build" />
      {b.loading && <Loading />}
      {build && (
        <>
          <dl class="facts">
            <dt>Status</dt><dd><Status value={build.status} /> {build.error && <span class="error inline">{build.error}</span>}</dd>
            <dt>Commit</dt><dd><Mono>{build.commit || build.requested || 'branch head'}</Mono></dd>
            <dt>Digest</dt><dd>{build.digest ? <Mono>{build.digest}</Mono> : '—'}</dd>
            {build.image && <><dt>Image</dt><dd><Mono>{build.image}</Mono></dd></>}
            <dt>Trigger</dt><dd>{build.trigger}{build.triggered_by ? ` by ${build.triggered_by}` : ''}</dd>
            <dt>Queued</dt><dd><Time iso={build.created_at} /></dd>
            <dt>Duration</dt><dd>{duration(build.started_at, build.finished_at) || '—'}</dd>
          </dl>
          {running && canWrite() && (
            <Action run={() => post(`/builds/${id}/cancel`)} kind="danger" onDone={b.reload}>Cancel build</Action>
          )}
          <section aria-labelledby="steps-h">
            <h2 id="steps-h">Steps</h2>
            {build.steps.length === 0 && <p class="muted">Waiting for a builder…</p>}
            {build.steps.map((s) => {
              const own = lines.filter((l) => l.step === s.name);
              return (
                <details class="step" open={s.status === 'running' || s.status === 'failed' || undefined} data-step={s.name}>
                  <summary>
                    <strong>{s.name}</strong> <Status value={s.status} />{' '}
                    <span class="muted small">
                      <Time iso={s.started_at} />{s.finished_at ? ` · ${duration(s.started_at, s.finished_at)}` : ''}
                      {s.detail ? ` · ${s.detail}` : ''}
                    </span>
                  </summary>
                  <LogView lines={own} render={(l) => l.text} label={`Log of step ${s.name}`} />
                </details>
              );
            })}
            <p class="muted small" aria-live="polite" data-log-end={end ? end.status || 'error' : ''} data-lines={lines.length}>
              {end ? (end.error && !end.status ? `Log: ${end.error}` : `Log complete: ${end.status}.`) : 'Log streaming live…'}
              {' '}{lines.length} lines.
            </p>
          </section>
          <section aria-labelledby="scan-h">
            <h2 id="scan-h">Scan</h2>
            {build.scan ? <Scan id={id} done={!running} />
              : <p class="muted">{FINAL.has(build.status) ? 'No scan report.' : 'Not scanned yet.'}</p>}
          </section>
          <section aria-labelledby="ep-h">
            <h2 id="ep-h">Endpoints</h2>
            {!build.endpoints || build.endpoints.length === 0 ? <p class="muted">No endpoints recorded.</p> : (
              <Table head={['Name', 'Type', 'Port', 'Base path', 'Visibility', 'API spec']} label="Endpoints">
                {build.endpoints.map((e) => (
                  <tr>
                    <td>{e.display_name || e.name}</td><td>{e.type}</td><td>{e.port}</td>
                    <td><Mono>{e.base_path}</Mono></td><td>{(e.visibilities || []).join(', ')}</td>
                    <td>{e.schema ? (
                      <details>
                        <summary>{e.schema.format} {e.schema.version} · {e.schema.path}</summary>
                        <pre class="log">{JSON.stringify(e.schema.document, null, 2)}</pre>
                      </details>) : <span class="muted">none</span>}</td>
                  </tr>
                ))}
              </Table>
            )}
          </section>
          <p><a href={`${base}/deploy`}>Deploy this component →</a></p>
        </>
      )}
    </main>
  );
}
