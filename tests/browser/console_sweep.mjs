// Every page of the console, each opened straight from its URL (as a
// bookmark or a shared link would), at 1280 px and at a phone's width:
// axe-core's WCAG 2.1 A/AA rules (labels, names, contrast, structure), keyboard
// focus visible on what Tab reaches, no sideways overflow on a phone, times
// in the browser's zone with the UTC time on hover, the empty states and a
// schedule's next runs. Inputs in FERRY_E2E (JSON): url, token, project and
// the objects to visit; findings printed as one JSON line.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { runScenario, signIn, shot, check } from './lib.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const P = JSON.parse(process.env.FERRY_E2E || '{}');
const base = P.url;
const comp = (c) => `/projects/${P.project}/components/${c}`;
const out = { pages: {} };

// [path, its h1, a screenshot name at phone width, what else to look for]
const PAGES = [
  ['/', 'Projects'],
  [`/projects/${P.project}`, P.project, 'overview-phone'],
  [`${comp('hello')}/build`, 'Build', 'build-page-phone'],
  [`${comp('hello')}/builds/${P.build}`, `Build #${P.build}`, 'build-detail-phone'],
  [`${comp('hello')}/deploy`, 'Deploy'],
  [`${comp('hello')}/config`, 'Configuration', 'config-phone'],
  [`${comp('hello')}/logs/production`, 'Runtime logs · production'],
  [`${comp('once')}/executions`, 'Executions', 'executions-phone'],
  [`${comp('once')}/executions/${P.execution}`, `Execution ${P.execution}`],
  [`${comp('nightly')}/executions`, 'Executions', null, 'schedule'],
  [`${comp('empty')}/build`, 'Build', null, 'No builds yet: Build the latest commit'],
  [`${comp('empty')}/deploy`, 'Deploy', null, 'No successful build to deploy yet: build a commit first.'],
  ['/admin/tokens', 'Tokens'],
  ['/admin/audit?action=build.&limit=50', 'Audit log'],
  ['/no/such/page', 'Not found'],
];

async function settle(page, h1) {
  await page.getByRole('heading', { level: 1, name: h1, exact: true }).waitFor();
  // Everything loaded once no "Loading…" is left.
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), null, { timeout: 30000, polling: 100 });
}

async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
  });
}

// Tab through the first controls: each one reached shows a focus ring.
async function focusRing(page, tabs = 8) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.locator('body').focus();
  const seen = [];
  for (let i = 0; i < tabs; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      return { tag: el.tagName, text: (el.textContent || el.getAttribute('aria-label') || el.id || '').trim().slice(0, 30),
        ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 };
    });
    if (!f) break;
    seen.push(f);
  }
  return seen;
}

// Times: the browser's zone (the test browser is in Europe/Berlin), the UTC
// time in the title.
async function times(page) {
  return page.evaluate(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const fmt = (tz) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', timeZone: tz });
    return [...document.querySelectorAll('time')].map((t) => {
      const d = new Date(t.dateTime);
      const utc = d.toISOString().replace('.000Z', 'Z').replace('T', ' ') + ' UTC';
      return { zone, local: t.textContent === fmt(zone).format(d), notUtc: t.textContent !== fmt('UTC').format(d),
        title: t.title === utc };
    });
  });
}

const scenarios = {
  async sweep(page) {
    await signIn(page, base, P.token);
    const problems = [];
    for (const [path, h1, phoneShot, extra] of PAGES) {
      const r = { };
      out.pages[path] = r;
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.goto(base + path);
      await settle(page, h1);
      check(new URL(page.url()).pathname + new URL(page.url()).search === path, `${path} stays at its URL`);
      r.axe = await axe(page);
      r.focus = await focusRing(page);
      r.times = await times(page);
      if (extra === 'schedule') {
        r.schedule = await page.locator('section[aria-labelledby="sched-h"] code').innerText();
        r.nextRuns = await page.locator('section[aria-labelledby="sched-h"] time').evaluateAll((ts) => ts.map((t) => t.dateTime));
        r.empty = await page.locator('.empty').allInnerTexts();
      } else if (extra) {
        r.empty = await page.locator('.empty').allInnerTexts();
        check(r.empty.some((t) => t.replace(/\s+/g, ' ').trim() === extra), `${path} says "${extra}": ${r.empty}`);
      }
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(150);
      r.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      r.phoneAxe = await axe(page);
      if (phoneShot) await shot(page, phoneShot);
      if (r.axe.length || r.phoneAxe.length) problems.push(`${path}: ${[...r.axe, ...r.phoneAxe].join(' | ')}`);
      if (r.phoneOverflow > 0) {
        const wide = await page.evaluate(() => [...document.querySelectorAll('main *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('.table-wrap, pre'))
          .slice(-3).map((el) => `${el.tagName.toLowerCase()}.${el.className}`));
        problems.push(`${path}: ${r.phoneOverflow} px wider than a phone (${wide.join(', ')})`);
      }
      if (!r.focus.length) problems.push(`${path}: Tab reaches nothing`);
      for (const f of r.focus) if (!f.ring) problems.push(`${path}: no focus ring on ${f.tag} "${f.text}"`);
      for (const t of r.times) if (!(t.local && t.notUtc && t.title)) problems.push(`${path}: a time not local/UTC-titled: ${JSON.stringify(t)}`);
    }
    // The skip link is the first stop and leads to the page's content.
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(base + comp('hello') + '/deploy');
    await settle(page, 'Deploy');
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    out.firstStop = await page.evaluate(() => document.activeElement.textContent);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    out.afterSkip = await page.evaluate(() => !!document.activeElement.closest('main'));
    check(new URL(page.url()).pathname === comp('hello') + '/deploy', 'the skip link stays on the page');
    out.sweepProblems = problems;
  },
};

await runScenario(scenarios, process.argv[2] || 'sweep', out);
