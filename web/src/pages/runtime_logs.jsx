// A component's own output in one environment, followed live.
import { componentPath } from '../lib/api.js';
import { useFollow } from '../lib/hooks.js';
import { ComponentNav } from '../components/component_nav.jsx';
import { useComponent } from './build.jsx';
import { LogView } from '../components/ui.jsx';

export function RuntimeLogs({ params }) {
  const { p, c, env } = params;
  const base = componentPath(p, c);
  const comp = useComponent(p, c);
  const { lines, end } = useFollow(`/api/v1${base}/environments/${encodeURIComponent(env)}/logs`,
    { cap: 2000, resumable: false });
  return (
    <main id="main">
      <ComponentNav p={p} c={c} component={comp.data} title={`Runtime logs · ${env}`} />
      <p class="muted">The output of {c}'s replicas in {env}, followed live (the last 2000 lines are kept).</p>
      {end?.error && <p class="error" role="alert">{end.error}</p>}
      <LogView lines={lines} render={(l) => `${l.replica}  ${l.line}`} label={`Runtime log of ${c} in ${env}`}
        empty="No output yet: the log follows as the service writes." />
    </main>
  );
}
