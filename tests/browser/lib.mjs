// Shared by the console's browser tests: Debian's chromium driven by
// playwright-core (never a browser download), a fresh profile per run.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
    timezoneId: 'Europe/Berlin',
    locale: 'en-GB',
  });
  ctx.setDefaultTimeout(Number(process.env.STEP_TIMEOUT_MS || 30000));
  const close = async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, close };
}

// Every API answer the page receives, for looking into afterwards.
export function recordNetwork(page) {
  const answers = [];
  const problems = [];
  const messages = []; // everything the page logged
  page.on('response', async (res) => {
    if (!res.url().includes('/api/')) return;
    let body = '';
    try { body = await res.text(); } catch { /* a stream cut off by navigation */ }
    answers.push({ url: res.url(), status: res.status(), headers: res.headers(), body });
  });
  page.on('console', (m) => {
    messages.push(m.text());
    if (m.type() === 'error') problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  return { answers, problems, messages };
}

export async function signIn(page, base, token) {
  await page.goto(base + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export function shotPath(name) {
  const dir = process.env.SHOTS;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  return join(dir, name + '.png');
}

export async function shot(page, name, opts = {}) {
  const p = shotPath(name);
  if (p) await page.screenshot({ path: p, fullPage: opts.fullPage ?? true });
}

export function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

export async function waitFor(page, fn, arg, timeout = 240000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 250 });
}

// Runs scenarios[name](page, net) in a fresh browser and prints `out` as one
// JSON line, with the page's problems (console errors, uncaught exceptions,
// CSP refusals); exits non-zero with the reason when a check failed.
export async function runScenario(scenarios, name, out) {
  if (!scenarios[name]) throw new Error(`no scenario ${name}: ${Object.keys(scenarios)}`);
  const { ctx, close } = await launch();
  let rc = 0;
  const page = ctx.pages()[0] || await ctx.newPage();
  try {
    const net = recordNetwork(page);
    await scenarios[name](page, net);
    // A refusal the scenario provoked is logged by the browser as a failed
    // load: out.allow names those statuses. Chromium also aborts requests in
    // flight when a network interface appears (podman's, during a rollout, of
    // this test or another): the console's next poll repeats them.
    const allowed = ['401 (Unauthorized)', '403 (Forbidden)', 'net::ERR_NETWORK_CHANGED', ...(out.allow || [])];
    out.problems = net.problems.filter((p) => !allowed.some((a) => p.includes(a)));
  } catch (e) {
    rc = 1;
    out.error = String(e.stack || e);
    try { await shot(page, `failed-${name}`); } catch { /* the page is gone */ }
  } finally {
    await close();
  }
  console.log(JSON.stringify(out));
  process.exit(rc);
}
