// The local management website in a real browser: playwright-core (pinned in
// package.json) drives the distribution's Chromium through the pages a field
// engineer uses, on the website the simulator serves (evsesim.sim --web).
// host_tests/integration/test_web_browser.py runs it beside the simulator and
// answers its requests for simulator actions over stdin/stdout, one JSON
// object per line:
//   -> {"need": "charge"}     plug an EV and let it charge a minute
//   -> {"need": "reboot"}     let the station reboot after the reset
//   <- {"ok": true}
//   -> {"step": "...", ...}   progress, for the test's log
//   -> {"done": true, "screenshots": [...]}
// Usage: node tools/web_browser.js URL PASSWORD OUTDIR [CHROMIUM]
// Every check throws on failure (exit status 1 with the reason on stderr).
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const [url, password, outdir, exe] = process.argv.slice(2);
const WIDE = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 800 };
const PAGES = [['status', '/'], ['config', '/config'], ['locallist', '/locallist'],
  ['actions', '/actions'], ['log', '/log']];

const lines = readline.createInterface({ input: process.stdin });
const answers = [];
let waiting = null;
lines.on('line', (l) => { if (waiting) { const w = waiting; waiting = null; w(l); } else answers.push(l); });

function say(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function need(what) {
  say({ need: what });
  return new Promise((resolve) => {
    if (answers.length) resolve(answers.shift()); else waiting = resolve;
  }).then((l) => {
    const a = JSON.parse(l);
    if (!a.ok) throw new Error('simulator action ' + what + ' failed: ' + l);
  });
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

async function text(page, sel) {
  return (await page.locator(sel).first().textContent()).trim();
}

async function login(page) {
  await page.goto(url + '/');
  check(await page.locator('input[name=password]').count() === 1, 'the login form comes first');
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(url + '/'), page.click('button:has-text("Log in")')]);
  check(await text(page, 'h1') === 'Status', 'logged in, the status page shows');
}

async function nav(page, label, p) {
  // the navigation link, then the whole page (its script comes last)
  await Promise.all([page.waitForURL(url + p), page.click('nav a:has-text("' + label + '")')]);
  await page.waitForLoadState('load');
}

const shots = [];
async function shot(page, name) {
  const file = path.join(outdir, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function setKey(page, key, value, want) {
  // find the key with the search box, change it, read the result beside the form
  await page.fill('#q', key);
  const row = page.locator('tr[data-k="' + key + '"]');
  check(await row.isVisible(), key + ' found by the search');
  const hidden = await page.locator('tr[data-k]:not(.hide)').count();
  check(hidden < 10, 'the search leaves few rows (' + hidden + ')');
  await page.evaluate((k) => {
    window.notReloaded = true;
    document.querySelector('tr[data-k="' + k + '"] .res').textContent = '';
  }, key);
  const input = row.locator('[name=value]');
  if (await input.getAttribute('type') === 'checkbox') await input.setChecked(value === 'true');
  else if (await input.evaluate((e) => e.tagName) === 'SELECT') await input.selectOption(value);
  else await input.fill(value);
  await row.locator('button').click();
  const res = row.locator('.res');
  await page.waitForFunction((k) => {
    const t = document.querySelector('tr[data-k="' + k + '"] .res').textContent;
    return t !== '' && t !== '...';
  }, key, { timeout: 10000 });
  const got = (await res.textContent()).trim();
  check(got.includes(want), key + '=' + value + ' answered "' + got + '", not ' + want);
  check(await page.evaluate(() => window.notReloaded === true), 'the page did not reload');
  check(await page.inputValue('#q') === key, 'the search stays');
  return (await res.textContent()).trim();
}

async function main() {
  fs.mkdirSync(outdir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: exe || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const ctx = await browser.newContext({ viewport: WIDE });
    const errors = [];
    ctx.on('page', (pg) => pg.on('pageerror', (e) => errors.push(String(e))));
    const page = await ctx.newPage();
    page.on('pageerror', (e) => { errors.push(String(e)); process.stderr.write('page error: ' + e + '\n'); });
    await login(page);
    say({ step: 'logged in' });

    // configuration: find and change keys, inline results
    await nav(page, 'Configuration', '/config');
    let r = await setKey(page, 'HeartBeatInterval', '300', 'Accepted');
    check(r === 'Accepted', 'HeartBeatInterval: ' + r);
    r = await setKey(page, 'MaxCurrentConnection', '20', 'RebootRequired');
    check(r.startsWith('RebootRequired'), 'MaxCurrentConnection: ' + r);
    // (out of range, the browser itself refuses: the number field has min and max)
    r = await setKey(page, 'MinCurrentConnection', '17', 'Rejected');
    check(r.includes('MinCurrentConnection <= MaxCurrentConnection'), 'the reason of a refusal: ' + r);
    r = await setKey(page, 'MeterType', '7', 'warning');
    check(r.includes('no register map'), 'MeterType 7 warns: ' + r);
    await setKey(page, 'MeterType', '1', 'Accepted');     // back to the active value
    // each key says what it does; the search finds a key by those words too
    await page.fill('#q', 'tag presented again');
    const cache = page.locator('tr[data-k="AuthorisationCacheEnabled"]');
    check(await cache.isVisible(), 'a key found by the words of its description');
    const about = (await cache.locator('p.d').textContent()).trim();
    check(about.startsWith('Turns on the authorization cache'), 'the key\'s description: ' + about);
    check(await page.locator('tr[data-k]:not(.hide)').count() < 5, 'the words leave few rows');
    say({ step: 'configuration changed' });

    // local list: add an entry, then remove it
    await nav(page, 'Local list', '/locallist');
    await page.fill('input[name=tag]', 'WEBCARD9');
    await page.selectOption('select[name=status]', 'Accepted');
    await page.click('button:has-text("Add")');
    check((await text(page, 'p.msg')).startsWith('added WEBCARD9: Accepted'), 'entry added');
    const entry = page.locator('tr', { has: page.locator('td', { hasText: /^WEBCARD9$/ }) });
    check(await entry.count() === 1, 'the entry is listed');
    await entry.locator('button:has-text("Remove")').click();
    check((await text(page, 'p.msg')).startsWith('removed WEBCARD9'), 'entry removed: ' + await text(page, 'p.msg'));
    check(await entry.count() === 0, 'the entry is gone');
    say({ step: 'local list entry added and removed' });

    // status page: a session's current appears without reloading the page
    await nav(page, 'Status', '/');
    check(await text(page, '#c1-status') === 'Available', 'connector 1 available');
    await page.evaluate(() => { window.notReloaded = true; });
    await need('charge');
    await page.locator('#c1-status', { hasText: 'Charging' }).waitFor({ timeout: 15000 });
    await page.locator('#c1-current', { hasText: '16.0 / 16.0 / 16.0 A' }).waitFor({ timeout: 15000 });
    check(await page.evaluate(() => window.notReloaded === true), 'the status page updated in place');
    const sess = await text(page, '#c1-session');
    check(/^0:01:\d\d, \d+ Wh/.test(sess), 'session time and energy: ' + sess);
    check(parseInt(await text(page, '#c1-power'), 10) > 10000, 'power shown');
    say({ step: 'session current seen', session: sess });

    // every page at desktop and at phone width; no horizontal overflow at 375 px
    for (const [name, p] of PAGES) {
      await page.goto(url + p);
      await shot(page, name + '-1280');
    }
    const phone = await ctx.newPage();
    await phone.setViewportSize(PHONE);
    for (const [name, p] of PAGES) {
      await phone.goto(url + p);
      const w = await phone.evaluate(() => document.documentElement.scrollWidth);
      check(w <= PHONE.width, name + ' is ' + w + ' px wide at 375 px');
      await shot(phone, name + '-375');
    }
    await phone.close();
    say({ step: 'screenshots', n: shots.length });

    // reset: the old station's session ends at once
    await page.goto(url + '/actions');
    await page.click('button:has-text("Soft reset")');
    check((await text(page, 'p.msg')).startsWith('Soft reset: Accepted'), 'reset accepted');
    await need('reboot');
    await page.goto(url + '/');
    check(await page.locator('input[name=password]').count() === 1, 'after the reset: log in again');
    await login(page);
    say({ step: 'reset, logged in again' });

    // log out
    await Promise.all([page.waitForURL(url + '/login'), page.click('button:has-text("Log out")')]);
    await page.goto(url + '/config');
    check(await page.locator('input[name=password]').count() === 1, 'logged out');
    say({ step: 'logged out' });
    check(errors.length === 0, 'no script errors: ' + errors.join('; '));
  } finally {
    await browser.close();
  }
  say({ done: true, screenshots: shots });
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write((e && e.stack) || String(e));
  process.stderr.write('\n');
  process.exit(1);
});
