// The web console in headless Chromium against a real ferryd: one scenario
// per run (`node console_e2e.mjs SCENARIO`), its inputs in the FERRY_E2E
// environment variable (JSON), its findings printed as one JSON line for the
// pytest side (tests/e2e/test_console_browser.py) to check against the
// server. Any failed check exits non-zero with the reason.
import { runScenario, signIn, shot, check, waitFor } from './lib.mjs';

const scenario = process.argv[2];
const P = JSON.parse(process.env.FERRY_E2E || '{}');
const base = P.url;
const comp = (c) => `${base}/projects/${P.project}/components/${c}`;
const out = {};

const scenarios = {
  // Sign in; the token is kept nowhere the page can read; the projects and
  // overview pages; keyboard operation of the sign-in form.
  async signin(page, net) {
    await page.goto(base + `/projects/${P.project}`);
    await page.getByLabel('API token').waitFor();
    check(await page.evaluate(() => document.activeElement?.id) === 'token', 'the token field has the focus');
    await shot(page, 'signin');
    await page.keyboard.type('fry_' + '0'.repeat(64));
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'not known' }).waitFor();
    await page.getByLabel('API token').fill(P.token);
    await page.keyboard.press('Tab');
    check(await page.evaluate(() => document.activeElement?.textContent) === 'Sign in', 'Tab reaches the Sign in button');
    await page.keyboard.press('Enter');
    // The bookmarked page opens once signed in.
    await page.getByRole('heading', { name: P.project, exact: true }).waitFor();
    await page.getByRole('link', { name: 'hello', exact: true }).waitFor();
    await waitFor(page, () => document.querySelectorAll('main .badge-ok').length >= 0);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })
      + document.cookie + location.href + document.documentElement.outerHTML);
    check(!stored.includes(P.token), 'the token is not in storage, readable cookies, the URL or the page');
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === 'ferry_session');
    check(c && c.httpOnly && c.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
    check(!cookies.some((x) => x.value.includes(P.token)), 'no cookie holds the token');
    for (const a of net.answers) check(!a.body.includes(P.token), `the token is in no answer (${a.url})`);
    await page.goto(base + '/');
    await page.getByRole('link', { name: P.project, exact: true }).waitFor();
    await shot(page, 'projects');
  },

  // Build a chosen (not the newest) commit and watch its log stream to the end.
  async build(page, net) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/build');
    const row = page.locator(`tr[data-sha="${P.commit}"]`);
    await row.waitFor();
    await shot(page, 'build-page');
    await row.getByRole('button', { name: 'Build' }).click();
    await page.waitForURL(/\/builds\/\d+$/);
    out.build = Number(page.url().split('/').pop());
    // Lines arrive while the build runs, without reloading.
    let seenRunning = 0;
    const t0 = Date.now();
    for (;;) {
      const end = await page.locator('[data-log-end]').getAttribute('data-log-end');
      const running = await page.locator('[data-step] .badge[data-status="running"]').count();
      if (running) seenRunning++;
      if (end) { out.end = end; break; }
      check(Date.now() - t0 < 600000, 'the build log ended within 10 minutes');
      await page.waitForTimeout(200);
    }
    out.sawRunningStep = seenRunning > 0;
    await page.locator('[data-step]').evaluateAll((els) => els.forEach((e) => { e.open = true; }));
    out.lines = Number(await page.locator('[data-log-end]').getAttribute('data-lines'));
    const logs = await page.locator('[data-step] pre.log').allInnerTexts();
    out.logText = logs.join('\n');
    out.steps = await page.locator('[data-step]').evaluateAll((els) => els.map((e) => e.dataset.step));
    const streamed = net.answers.some((a) => a.url.includes(`/builds/${out.build}/log?follow=1`));
    check(streamed, 'the log came from the follow stream');
    await waitFor(page, () => document.querySelector('[data-status]')?.dataset.status === 'succeeded');
    await shot(page, 'build-detail');
  },

  // Deploy from the setup area, then promote to production: both cards
  // active and healthy, with their URLs.
  async deploy(page) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/deploy');
    await page.getByLabel('Build to deploy').selectOption(String(P.build));
    await page.getByRole('button', { name: 'Deploy to development' }).click();
    const card = (env) => page.locator(`section[data-env="${env}"]`);
    const healthy = async (env) => {
      await card(env).locator('[data-health="healthy"]').waitFor({ timeout: 300000 });
      await card(env).locator('[data-current] .badge[data-status="active"]').waitFor({ timeout: 300000 });
    };
    await healthy('development');
    await card('development').getByRole('button', { name: 'Promote to production' }).click();
    await healthy('production');
    out.urls = {};
    for (const env of ['development', 'production']) out.urls[env] = await card(env).locator('a.env-url').getAttribute('href');
    await shot(page, 'deploy');
    // At a phone's width nothing overflows sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    out.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await shot(page, 'deploy-phone');
  },

  // An environment-specific value; the page shows the deployment it caused.
  async config(page) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/config');
    await page.getByLabel('Applies to').selectOption('production');
    await page.getByLabel('Key', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill(P.value);
    await page.getByRole('button', { name: 'Save' }).click();
    const caused = page.locator('[data-caused] li[data-deployment]').filter({ hasText: 'production' });
    await caused.first().waitFor({ timeout: 60000 });
    out.deployment = Number(await caused.first().getAttribute('data-deployment'));
    await page.locator(`[data-caused] li[data-deployment="${out.deployment}"] .badge[data-status="active"]`).waitFor({ timeout: 300000 });
    await shot(page, 'config');
    await page.goto(comp('hello') + '/deploy');
    await page.locator('section[data-env="production"] [data-health="healthy"]').waitFor({ timeout: 120000 });
  },

  // Roll production back to the deployment before the configuration change.
  async rollback(page) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/deploy');
    const card = page.locator('section[data-env="production"]');
    await card.locator('details.history summary').click();
    await card.locator(`li[data-deployment="${P.to}"]`).getByRole('button', { name: /Roll back/ }).click();
    await waitFor(page, (id) => {
      const li = document.querySelector(`section[data-env="production"] li[data-deployment]`);
      return li && li.querySelector('[data-status="active"]') && Number(li.dataset.deployment) > id;
    }, P.after, 300000);
    out.active = Number(await card.locator('li[data-deployment]').first().getAttribute('data-deployment'));
    await card.locator('[data-health="healthy"]').waitFor({ timeout: 120000 });
    await page.goto(`${base}/projects/${P.project}`);
    await page.locator('main .badge-ok').nth(3).waitFor();
    await shot(page, 'overview');
  },

  // A secret: set, shown as set, its value nowhere in the page or its answers.
  async secret(page, net) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/config');
    await page.getByLabel(/Secret/).check();
    await page.getByLabel('Key', { exact: true }).fill('API_KEY');
    await page.getByLabel('Value', { exact: true }).fill(P.secret);
    check(await page.getByLabel('Value', { exact: true }).getAttribute('type') === 'password', 'a secret is typed into a password field');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr[data-key="API_KEY"]').first().waitFor();
    await page.locator('[data-caused], p[aria-live]').first().waitFor();
    check(await page.getByLabel('Value', { exact: true }).inputValue() === '', 'the field is emptied once sent');
    await page.reload();
    await page.locator('tr[data-key="API_KEY"]').first().waitFor();
    check((await page.locator('tr[data-key="API_KEY"]').first().innerText()).includes('secret'), 'shown as a set secret');
    await page.waitForTimeout(2500); // a few polls more
    const html = await page.evaluate(() => document.documentElement.outerHTML);
    check(!html.includes(P.secret), 'the secret is not in the page');
    for (const a of net.answers) check(!a.body.includes(P.secret), `the secret is not in the answer of ${a.url}`);
    check(!net.messages.some((m) => m.includes(P.secret)), 'the secret is not in the console log');
    out.answers = net.answers.length;
  },

  // Run a task with arguments and read its execution log.
  async task(page) {
    await signIn(page, base, P.token);
    await page.goto(comp(P.task) + '/executions');
    await page.getByLabel('Arguments, one per line').fill(P.args.join('\n'));
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/executions\/[^/]+$/);
    out.execution = decodeURIComponent(page.url().split('/').pop());
    await waitFor(page, () => document.querySelector('[data-log-end]')?.dataset.logEnd, null, 240000);
    out.end = await page.locator('[data-log-end]').getAttribute('data-log-end');
    out.log = await page.getByLabel('Execution log').innerText();
    await waitFor(page, () => document.querySelector('[data-exit-code]')?.textContent.trim() !== '—', null, 30000);
    out.exitCode = (await page.locator('[data-exit-code]').innerText()).trim();
    await shot(page, 'execution');
    await page.goto(comp(P.task) + '/executions');
    await page.locator(`tr[data-execution="${out.execution}"]`).first().waitFor();
    out.count = Number(await page.locator('[data-count]').innerText());
    await shot(page, 'executions');
  },

  // The auto-build and auto-deploy switches: each click changes the
  // component on the server (read back through the API), twice.
  async toggles(page) {
    await signIn(page, base, P.token);
    const server = () => page.evaluate(async (u) => (await fetch(u)).json(),
      `/api/v1/projects/${P.project}/components/hello`);
    out.seen = [];
    for (const [path, name, field] of [['/build', 'Auto build', 'auto_build'], ['/deploy', 'Auto deploy', 'auto_deploy']]) {
      await page.goto(comp('hello') + path);
      const sw = page.getByRole('switch', { name });
      await sw.waitFor();
      for (let i = 0; i < 2; i++) {
        const was = await sw.isChecked();
        await sw.focus();
        await page.keyboard.press('Space');
        await waitFor(page, ([n, w]) => {
          const el = [...document.querySelectorAll('[role=switch]')].find((x) => x.parentElement.textContent.includes(n));
          return el && !el.disabled && el.checked === !w;
        }, [name, was], 30000);
        const c = await server();
        out.seen.push({ field, was, now: c[field] });
        check(c[field] === !was, `${field} on the server follows the switch`);
      }
    }
  },

  // Cancel a running build from its page: the step running at the time
  // and the build end as cancelled, shown without reloading.
  async cancelBuild(page) {
    await signIn(page, base, P.token);
    await page.goto(comp(P.component) + '/build');
    await page.getByRole('button', { name: 'Build the latest commit' }).click();
    await page.waitForURL(/\/builds\/\d+$/);
    out.build = Number(page.url().split('/').pop());
    await waitFor(page, () => [...document.querySelectorAll('pre.log')].some((p) => p.textContent.includes('started-sleeping')),
      null, 240000);
    await page.getByRole('button', { name: 'Cancel build' }).click();
    await page.locator('dl.facts .badge[data-status="cancelled"]').waitFor({ timeout: 60000 });
    await page.locator('[data-log-end="cancelled"]').waitFor({ timeout: 30000 });
    check(!(await page.getByRole('button', { name: 'Cancel build' }).count()), 'no Cancel once the build ended');
    out.steps = await page.locator('[data-step]').evaluateAll((els) => els.map((e) => [e.dataset.step,
      e.querySelector('.badge')?.dataset.status]));
  },

  // Cancel a running execution from its page.
  async cancelTask(page) {
    await signIn(page, base, P.token);
    await page.goto(comp(P.task) + '/executions');
    await page.getByLabel('Arguments, one per line').fill('sleep\n120');
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/executions\/[^/]+$/);
    out.execution = decodeURIComponent(page.url().split('/').pop());
    await page.getByLabel('Execution log').filter({ hasText: 'task args: sleep 120' }).waitFor({ timeout: 120000 });
    await page.goto(comp(P.task) + '/executions');
    await page.locator(`section[aria-labelledby="running-h"] tr[data-execution="${out.execution}"]`).waitFor();
    await page.locator(`tr[data-execution="${out.execution}"] a`).first().click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('dl.facts .badge[data-status="cancelled"]').waitFor({ timeout: 60000 });
    await page.locator('[data-log-end="cancelled"]').waitFor({ timeout: 30000 });
  },

  // A refusal from the server is shown where the action was taken: a
  // build whose descriptor needs a value this environment lacks. Its
  // details show the endpoint and the API specification recorded.
  async refusal(page) {
    await signIn(page, base, P.token);
    await page.goto(comp(P.component) + `/builds/${P.build}`);
    const ep = page.getByRole('table', { name: 'Endpoints' });
    await ep.waitFor();
    out.endpoint = await ep.locator('tbody tr').first().innerText();
    await ep.locator('summary').click();
    out.spec = await ep.locator('pre').innerText();
    await page.goto(comp(P.component) + '/deploy');
    out.allow = ['422 (Unprocessable Content)'];
    await page.getByRole('button', { name: 'Deploy to development' }).click();
    const alert = page.locator('section.setup [role="alert"]');
    await alert.waitFor({ timeout: 60000 });
    out.refusal = await alert.innerText();
    await shot(page, 'deploy-refused');
  },

  // The runtime log of a service, followed live: lines its replicas write
  // after the page opened arrive without reloading.
  async runtimeLogs(page) {
    await signIn(page, base, P.token);
    await page.goto(comp('hello') + '/logs/production');
    await page.getByRole('heading', { name: 'Runtime logs · production' }).waitFor();
    const log = page.getByLabel('Runtime log of hello in production');
    await page.waitForTimeout(1500);
    const mark = `console-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${P.gateway}?mark=${mark}-${i}`);
      check(r.status === 200, `the service answers (${r.status})`);
    }
    await log.filter({ hasText: `${mark}-2` }).waitFor({ timeout: 60000 });
    out.lines = (await log.innerText()).split('\n').filter((l) => l.includes(mark));
  },

  // A viewer sees no write controls, and a direct write is refused.
  async viewer(page) {
    await signIn(page, base, P.viewer);
    const writes = /^(Build|Deploy to|Promote|Undeploy|Roll back|Save|Run now|Cancel|Unset|Revoke|Create)/;
    out.pages = {};
    for (const path of ['/build', '/deploy', '/config']) {
      await page.goto(comp('hello') + path);
      await page.locator('h2').first().waitFor();
      await page.waitForTimeout(1500);
      const names = await page.getByRole('button').allInnerTexts();
      out.pages[path] = names;
      check(!names.some((n) => writes.test(n.trim())), `no write control on ${path}: ${names}`);
      const toggles = await page.getByRole('switch').evaluateAll((els) => els.map((e) => e.disabled));
      check(toggles.every((d) => d), `switches on ${path} are disabled`);
    }
    check(!(await page.getByRole('link', { name: 'Tokens' }).count()), 'no admin links for a viewer');
    out.direct = await page.evaluate(async ({ project }) => {
      const s = await (await fetch('/api/v1/session')).json();
      const r = await fetch(`/api/v1/projects/${project}/components/hello/builds`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: '{}' });
      return { status: r.status, body: await r.json() };
    }, { project: P.project });
    await page.goto(comp('hello') + '/deploy');
    await page.locator('section[data-env]').first().waitFor();
    await shot(page, 'viewer-deploy');
  },

  // Admin pages: a token is shown once; the audit log filters by URL.
  async admin(page) {
    await signIn(page, base, P.token);
    await page.goto(base + '/admin/tokens');
    await page.getByLabel('Name', { exact: true }).fill('browser-made');
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Create' }).click();
    const t = page.getByLabel('The new token');
    await t.waitFor();
    out.token = await t.inputValue();
    check(/^fry_[0-9a-f]{64}$/.test(out.token), 'the new token is shown');
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await page.locator('tr[data-token]').filter({ hasText: 'browser-made' }).waitFor();
    check(!(await page.evaluate(() => document.documentElement.outerHTML)).includes(out.token), 'hidden after Done');
    await shot(page, 'tokens');
    // Revoke it (after the confirmation dialog).
    page.once('dialog', (dlg) => dlg.accept());
    await page.getByRole('button', { name: 'Revoke token browser-made' }).click();
    await page.locator('tr[data-token]').filter({ hasText: 'browser-made' }).locator('td:nth-child(6) time').waitFor();
    await page.goto(base + '/admin/audit?action=deployment.');
    await page.locator('tr[data-audit]').first().waitFor();
    const actions = await page.locator('tr[data-audit] td:nth-child(3)').allInnerTexts();
    check(actions.length > 0 && actions.every((a) => a.startsWith('deployment.')), `filtered: ${actions}`);
    await shot(page, 'audit');
    // The other filters, chosen with the controls, land in the URL.
    await page.goto(base + '/admin/audit');
    await page.locator('tr[data-audit]').first().waitFor();
    await page.getByLabel('Actor', { exact: true }).selectOption(P.actor);
    await page.waitForURL((u) => u.searchParams.get('actor') === P.actor);
    await waitFor(page, (a) => {
      const cells = [...document.querySelectorAll('tr[data-audit] td:nth-child(2)')].map((td) => td.textContent);
      return cells.length > 0 && cells.every((t) => t.startsWith(a + ' '));
    }, P.actor, 30000);
    out.actorRows = await page.locator('tr[data-audit]').count();
    await page.getByLabel('Actor', { exact: true }).selectOption('');
    await page.getByLabel('Project', { exact: true }).selectOption(P.project);
    await page.waitForURL((u) => u.searchParams.get('project') === P.project && !u.searchParams.get('actor'));
    await waitFor(page, (p) => {
      const cells = [...document.querySelectorAll('tr[data-audit] td:nth-child(5)')].map((td) => td.textContent);
      return cells.length > 0 && cells.every((t) => t === p);
    }, P.project, 30000);
    out.projectRows = await page.locator('tr[data-audit]').count();
  },

  // Sign out ends the session: the page asks for a token, and the old
  // cookie no longer works.
  async signout(page) {
    await signIn(page, base, P.token);
    const before = (await page.context().cookies()).find((x) => x.name === 'ferry_session').value;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    out.after = await page.evaluate(async () => (await fetch('/api/v1/projects')).status);
    out.cookie = before;
  },
};

await runScenario(scenarios, scenario, out);
