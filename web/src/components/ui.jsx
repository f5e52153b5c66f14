// Small building blocks shared by the pages.
import { useState, useRef, useEffect } from 'preact/hooks';
import { localTime, utcTime } from '../lib/format.js';

// A time in the browser's zone, the UTC time on hover.
export function Time({ iso }) {
  if (!iso) return <span class="muted">—</span>;
  return <time datetime={iso} title={utcTime(iso)}>{localTime(iso)}</time>;
}

const TONE = {
  succeeded: 'ok', active: 'ok', healthy: 'ok', running: 'busy', 'rolling-out': 'busy', queued: 'wait',
  pending: 'wait', failed: 'bad', cancelled: 'muted', superseded: 'muted', interrupted: 'bad',
  timed_out: 'bad', unhealthy: 'bad', skipped: 'muted',
};

export function Status({ value }) {
  if (!value) return null;
  return <span class={`badge badge-${TONE[value] || 'muted'}`} data-status={value}>{value}</span>;
}

export function ErrorNote({ error, what }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {what ? `${what}: ` : ''}{error.message || String(error)}
    </p>
  );
}

export function Empty({ children }) {
  return <div class="empty">{children}</div>;
}

export function Loading() {
  return <p class="muted" aria-busy="true">Loading…</p>;
}

// Runs an async function with a busy flag and keeps its error, for the
// controls below: a refusal is shown next to where the action was taken.
function useRun() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

// A button that runs an async action, shows it is busy, and puts the
// server's refusal right next to itself.
export function Action({ run, children, kind = '', label, confirm: ask, disabled, onDone }) {
  const r = useRun();
  const click = () => {
    if (ask && !window.confirm(ask)) return;
    r.run(async () => {
      const v = await run();
      onDone?.(v);
    });
  };
  return (
    <span class="action">
      <button type="button" class={kind} onClick={click} disabled={r.busy || disabled} aria-label={label}
        aria-busy={r.busy ? 'true' : undefined}>
        {r.busy ? `${children}…` : children}
      </button>
      {r.error && <span class="error inline" role="alert">{r.error.message}</span>}
    </span>
  );
}

// A form whose submit runs an async action; its error is shown in the form.
export function Form({ onSubmit, children, label, class: cls = '' }) {
  const r = useRun();
  const submit = (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    r.run(() => onSubmit(form));
  };
  return (
    <form onSubmit={submit} aria-label={label} class={cls} aria-busy={r.busy ? 'true' : undefined}>
      <fieldset disabled={r.busy}>{children}</fieldset>
      {r.error && <p class="error" role="alert">{r.error.message}</p>}
    </form>
  );
}

export function Toggle({ label, checked, onChange, disabled, hint }) {
  const r = useRun();
  const change = (ev) => {
    const v = ev.currentTarget.checked;
    r.run(() => onChange(v));
  };
  return (
    <div class="toggle">
      <label>
        <input type="checkbox" role="switch" checked={checked} onChange={change} disabled={disabled || r.busy} />
        {' '}{label}
      </label>
      {hint && <span class="muted"> {hint}</span>}
      {r.error && <span class="error inline" role="alert">{r.error.message}</span>}
    </div>
  );
}

// Log lines, kept scrolled to the end while the reader is at the end.
export function LogView({ lines, render, label, empty = 'No output yet.' }) {
  const ref = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const el = ref.current;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return (
    <pre class="log" ref={ref} onScroll={onScroll} tabIndex={0} aria-label={label} aria-live="off">
      {lines.length ? lines.map(render).join('\n') : <span class="muted">{empty}</span>}
    </pre>
  );
}

export function Table({ head, children, label }) {
  return (
    // The box scrolls sideways on a narrow screen: focusable, so that the
    // keyboard can scroll it too.
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table aria-label={label}>
        <thead><tr>{head.map((h) => <th scope="col">{h}</th>)}</tr></thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Mono({ children, title }) {
  return <code title={title}>{children}</code>;
}
