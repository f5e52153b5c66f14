const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function localTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : local.format(d);
}

export function utcTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().replace('.000Z', 'Z').replace('T', ' ') + ' UTC';
}

export function duration(from, to) {
  if (!from) return '';
  const ms = (to ? new Date(to) : new Date()) - new Date(from);
  if (!(ms >= 0)) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const shortSha = (sha) => (sha ? sha.slice(0, 10) : '');
export const shortDigest = (d) => (d ? d.replace('sha256:', '').slice(0, 12) : '');

export const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted', 'active', 'superseded', 'timed_out', 'skipped']);
