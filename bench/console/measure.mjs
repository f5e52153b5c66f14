// Loads the console's first page RUNS times, each in a fresh context (no
// cache): once signed out (the sign-in page a new visitor gets) and once
// signed in (the projects page, with its API answer). Transfer: the bytes of
// the document and every resource as the network carried them (headers
// included). Interactive: from the start of navigation until the page's
// control answers (the token field, or the projects table, rendered by the
// app with its handlers attached, as the app renders synchronously).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const url = process.env.FERRY_URL;
const token = readFileSync(process.env.FERRY_TOKEN_FILE, 'utf8').trim();
const runs = Number(process.env.RUNS || 15);

async function once(browser, signedIn, baseline = false) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: !baseline });
  if (signedIn) {
    const r = await ctx.request.post(url + '/api/v1/session', { data: { token } });
    if (r.status() !== 201) throw new Error('sign-in failed: ' + r.status());
  }
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  let tti;
  if (baseline) {
    // The same document and files without running the app: what the
    // browser and the server cost before the console does anything.
    await page.goto(url + '/', { waitUntil: 'load' });
    tti = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  } else {
    await page.goto(url + '/', { waitUntil: 'commit' });
    await page.locator(signedIn ? 'table[aria-label="Projects"]' : '#token').waitFor();
    tti = await page.evaluate(() => performance.now());
  }
  await page.waitForLoadState('networkidle');
  await ctx.close();
  return { bytes, tti };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
try {
  await once(browser, false); // warm the server's page cache, not counted
  console.log(`bench/console: first page of ${url}/, ${runs} runs each, fresh context (no cache)`);
  let base = null;
  for (const [signedIn, baseline] of [[false, true], [false, false], [true, false]]) {
    const r = [];
    for (let i = 0; i < runs; i++) r.push(await once(browser, signedIn, baseline));
    const b = r.map((x) => x.bytes), t = r.map((x) => x.tti);
    const kb = (n) => (n / 1024).toFixed(1);
    if (baseline) {
      base = median(t);
      console.log(`  baseline: the same files, JavaScript off   load median ${base.toFixed(0)} ms max ${Math.max(...t).toFixed(0)} ms`);
      continue;
    }
    console.log(`  ${signedIn ? 'signed in (projects)' : 'sign-in page        '}  transfer median ${kb(median(b))} KB max ${kb(Math.max(...b))} KB`
      + ` (ratio to 300 KB: ${(Math.max(...b) / 307200).toFixed(3)})`
      + `   interactive median ${median(t).toFixed(0)} ms max ${Math.max(...t).toFixed(0)} ms`
      + ` (ratio to 1 s: ${(Math.max(...t) / 1000).toFixed(3)}; median to the baseline's: ${(median(t) / base).toFixed(2)})`);
  }
} finally {
  await browser.close();
}
