// The header every component page shares: where it is, and its sections.
import { useLocation } from 'preact-iso';
import { componentPath, seg } from '../lib/api.js';

export const isTask = (c) => c && (c.type === 'scheduled-task' || c.type === 'manual-task');

export function ComponentNav({ p, c, component, title }) {
  const { path } = useLocation();
  const base = componentPath(p, c);
  const tabs = [['build', 'Build'], ['deploy', 'Deploy'], ['config', 'Configuration']];
  if (isTask(component)) tabs.push(['executions', 'Executions']);
  const here = (t) => path === `${base}/${t}` || path.startsWith(`${base}/${t === 'build' ? 'builds' : t}/`)
    || (t === 'build' && path === base);
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/">Projects</a> / <a href={`/projects/${seg(p)}`}>{p}</a> / <span>{c}</span>
        {component && <span class="muted"> · {component.type} · {component.branch}</span>}
      </nav>
      <h1>{title}</h1>
      <nav class="tabs" aria-label="Component">
        {tabs.map(([t, label]) => (
          <a href={`${base}/${t}`} aria-current={here(t) ? 'page' : undefined}>{label}</a>
        ))}
      </nav>
    </>
  );
}
