// The console's only way to the server: the HTTP API, same origin, with the
// session cookie (sent by the browser, unreadable by scripts) and the
// session's CSRF token on writes (kept in memory only, never stored).
import { signal } from '@preact/signals';

// null: not signed in; undefined: not known yet; else {csrf, expires_at, who}
export const session = signal(undefined);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function readError(res) {
  try {
    const j = await res.json();
    return new ApiError(res.status, j.code || 'error', j.error || res.statusText);
  } catch {
    return new ApiError(res.status, 'error', `${res.status} ${res.statusText}`);
  }
}

function headers(method, body) {
  const h = { Accept: 'application/json' };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && session.value) h['X-CSRF-Token'] = session.value.csrf;
  return h;
}

export async function api(method, path, body, opts = {}) {
  const res = await fetch('/api/v1' + path, {
    method,
    headers: headers(method, body),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal: opts.signal,
  });
  if (!res.ok) {
    const err = await readError(res);
    // The session ended (expired, signed out elsewhere, token revoked).
    if (res.status === 401 && path !== '/session') session.value = null;
    throw err;
  }
  return res.json();
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

export async function loadSession() {
  try {
    session.value = await api('GET', '/session');
  } catch (e) {
    session.value = null;
    if (e.status !== 401 && e.status !== 400) throw e;
  }
}

export async function signIn(token) {
  session.value = await api('POST', '/session', { token });
}

export async function signOut() {
  try {
    await api('DELETE', '/session');
  } finally {
    session.value = null;
  }
}

export const role = () => session.value?.who?.role;
export const canWrite = () => role() === 'developer' || role() === 'admin';
export const isAdmin = () => role() === 'admin';

// Path segments are names ([a-z0-9-]) or numbers; encoded anyway.
export const seg = encodeURIComponent;
export const componentPath = (p, c) => `/projects/${seg(p)}/components/${seg(c)}`;
