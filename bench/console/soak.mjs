// The pages of bench/console/soak, left open DURATION seconds: every EVERY
// seconds, each page's garbage collected and its metrics read through CDP.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const url = process.env.FERRY_URL;
const token = readFileSync(process.env.FERRY_TOKEN_FILE, 'utf8').trim();
const duration = Number(process.env.DURATION || 600) * 1000;
const every = Number(process.env.EVERY || 30) * 1000;
const CAP = 5000; // the lines a build page keeps (web/src/lib/hooks.js)

async function open(ctx, path) {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url + path);
  await page.locator('h1').waitFor();
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { heap: m.JSHeapUsedSize, nodes: m.Nodes, listeners: m.JSEventListeners };
  };
  return { page, sample };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
let rc = 0;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const r = await ctx.request.post(url + '/api/v1/session', { data: { token } });
  if (r.status() !== 201) throw new Error('sign-in failed: ' + r.status());
  const build = await open(ctx, process.env.BUILD_PAGE);
  const deploy = await open(ctx, process.env.DEPLOY_PAGE);
  // Both pages count as seen (polls run only while a page is visible).
  await build.page.evaluate(() => Object.defineProperty(document, 'visibilityState', { get: () => 'visible' }));
  await deploy.page.evaluate(() => Object.defineProperty(document, 'visibilityState', { get: () => 'visible' }));
  const rows = [];
  let capped = null;
  const t0 = Date.now();
  const mb = (n) => (n / 1048576).toFixed(2);
  console.log(`bench/console/soak: ${process.env.BUILD_PAGE} (live log) and ${process.env.DEPLOY_PAGE} (polled), `
    + `${duration / 1000} s, a sample every ${every / 1000} s after GC`);
  console.log('     t   log lines | build page: heap MB  nodes  listeners | deploy page: heap MB  nodes  listeners');
  for (;;) {
    const lines = Number(await build.page.locator('[data-log-end]').getAttribute('data-lines'));
    const b = await build.sample();
    const d = await deploy.sample();
    const t = Math.round((Date.now() - t0) / 1000);
    rows.push({ t, lines, b, d });
    if (capped === null && lines >= CAP) capped = rows.length - 1;
    console.log(`${String(t).padStart(6)} ${String(lines).padStart(11)} |`
      + ` ${mb(b.heap).padStart(19)} ${String(b.nodes).padStart(6)} ${String(b.listeners).padStart(10)} |`
      + ` ${mb(d.heap).padStart(20)} ${String(d.nodes).padStart(6)} ${String(d.listeners).padStart(10)}`);
    if (Date.now() - t0 >= duration) break;
    await build.page.waitForTimeout(Math.min(every, duration - (Date.now() - t0)));
  }
  const end = rows[rows.length - 1];
  if (capped === null || capped === rows.length - 1) {
    console.log(`the log never reached its ${CAP}-line cap before the end: run longer (DURATION)`);
    rc = 1;
  } else {
    const at = rows[capped];
    // The deploy page has nothing that grows with time: compared with its first sample.
    const first = rows[0];
    const ratio = (a, z) => (z / a).toFixed(3);
    console.log(`build page, log at its cap (t=${at.t} s) -> end (t=${end.t} s): heap ${mb(at.b.heap)} -> ${mb(end.b.heap)} MB`
      + ` (ratio ${ratio(at.b.heap, end.b.heap)}), nodes ${at.b.nodes} -> ${end.b.nodes} (ratio ${ratio(at.b.nodes, end.b.nodes)}),`
      + ` listeners ${at.b.listeners} -> ${end.b.listeners}`);
    console.log(`deploy page, t=${first.t} s -> ${end.t} s: heap ${mb(first.d.heap)} -> ${mb(end.d.heap)} MB`
      + ` (ratio ${ratio(first.d.heap, end.d.heap)}), nodes ${first.d.nodes} -> ${end.d.nodes}, listeners ${first.d.listeners} -> ${end.d.listeners}`);
    console.log(`build page heap, max after the cap / at the cap: ${ratio(at.b.heap, Math.max(...rows.slice(capped).map((x) => x.b.heap)))}`);
  }
} finally {
  await browser.close();
}
process.exit(rc);
