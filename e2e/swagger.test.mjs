// End-to-end test of the Swagger UI the server serves at /docs, in headless Chromium.
//
// Run by scripts/browser-test.sh, which starts the server and prepares the data. Environment:
//   BASE_URL            the server, e.g. http://127.0.0.1:41234 (required)
//   API_TOKEN           a bearer JWT from `bookings token` (required)
//   BOOKING_LINK_TOKEN  a booking link with Mon-Fri working hours (required)
//   CALENDAR_ID         the calendar that link belongs to, owned by API_TOKEN's subject (required)
//   CHROMIUM_PATH       default /usr/bin/chromium
//   ARTIFACTS_DIR       default e2e/artifacts (the screenshot goes there)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/browser-test.sh)`);
  return value;
}

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const API_TOKEN = env('API_TOKEN');
const BOOKING_LINK_TOKEN = env('BOOKING_LINK_TOKEN');
const CALENDAR_ID = env('CALENDAR_ID');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR || path.join(here, 'artifacts');
const SCREENSHOT = path.join(ARTIFACTS_DIR, 'swagger.png');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Where a request would go: null when it stays on this machine. */
function offMachine(url) {
  const u = new URL(url);
  // data:, blob: and about: never touch the network.
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return null;
  if (['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && LOCAL_HOSTS.has(u.hostname)) return null;
  return url;
}

/** The Monday 00:00 UTC at least 7 days from now, and the Monday after it. */
function futureWeek(now = new Date()) {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 7));
  start.setUTCDate(start.getUTCDate() + ((8 - start.getUTCDay()) % 7));
  const end = new Date(start.getTime() + 7 * 24 * 3600 * 1000);
  const iso = (d) => d.toISOString().replace('.000Z', 'Z');
  return { start: iso(start), end: iso(end) };
}

describe('Swagger UI at /docs', { timeout: 120_000 }, () => {
  let browser;
  let context;
  let page;
  let spec;
  /** Every operation of the contract: { operationId, method, path, tags, secured }. */
  let operations;
  /** Every URL the browser asked for, in order. */
  const requests = [];
  const consoleErrors = [];

  before(async () => {
    for (const f of [SCREENSHOT, path.join(ARTIFACTS_DIR, 'failure.png')]) fs.rmSync(f, { force: true });
    const res = await fetch(`${BASE_URL}/openapi.json`);
    assert.equal(res.status, 200, 'GET /openapi.json');
    spec = await res.json();
    operations = [];
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const security = op.security ?? spec.security ?? [];
        operations.push({
          operationId: op.operationId,
          method,
          path: p,
          tags: op.tags?.length ? op.tags : ['default'],
          secured: security.length > 0 && security.some((req) => Object.keys(req).length > 0),
        });
      }
    }
    assert.ok(operations.length > 0, 'the contract has operations');

    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    context.on('request', (req) => requests.push(req.url()));
    // Record-and-refuse anything bound off the machine, so a leak fails fast (and the same way
    // with or without a network) instead of hanging on an unreachable host.
    await context.route((url) => offMachine(url.href) !== null, (route) => route.abort('blockedbyclient'));
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
  });

  after(async () => {
    if (page && !fs.existsSync(SCREENSHOT)) {
      fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'failure.png'), fullPage: true }).catch(() => {});
    }
    await browser?.close();
  });

  it('lists every operation of the contract under its tag', async () => {
    await page.goto(`${BASE_URL}/docs`);
    assert.equal(await page.title(), spec.info.title, 'page title');
    const expected = operations.flatMap((op) => op.tags.map((tag) => ({ tag, operationId: op.operationId })));
    await page.waitForSelector('.opblock');
    // Swagger UI renders an inline spec in one go; the wait covers a slow machine, and a short
    // page is reported below operation by operation.
    await page
      .waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, expected.length, { timeout: 5_000 })
      .catch(() => {});

    // Swagger UI's ids: escapeDeepLinkPath(["operations", tag, operationId].join("-")), i.e.
    // whitespace -> "_", then CSS.escape ("Coach events" -> operations-Coach_events-createCoachEvent).
    const found = await page.evaluate((expected) => {
      const domId = (s) => CSS.escape(s.trim().replace(/\s/g, '_'));
      return expected.map(({ tag, operationId }) => {
        const id = domId(`operations-${tag}-${operationId}`);
        const el = document.getElementById(id);
        const section = el?.closest('.opblock-tag-section');
        return {
          tag,
          operationId,
          id,
          present: !!el,
          underTag: section?.querySelector('h3.opblock-tag')?.getAttribute('data-tag') ?? null,
        };
      });
    }, expected);
    const missing = found.filter((f) => !f.present).map((f) => `#${f.id}`);
    assert.deepEqual(missing, [], 'operations missing from the page');
    const misplaced = found.filter((f) => f.underTag !== f.tag).map((f) => `${f.operationId} under ${f.underTag}, not ${f.tag}`);
    assert.deepEqual(misplaced, [], 'operations under the wrong tag');

    const rendered = await page.$$eval('.opblock', (els) => els.map((e) => e.id));
    assert.equal(rendered.length, expected.length, `rendered operations: ${rendered.join(', ')}`);
    const tags = await page.$$eval('h3.opblock-tag', (els) => els.map((e) => e.getAttribute('data-tag')));
    assert.deepEqual(tags.sort(), [...new Set(expected.map((e) => e.tag))].sort(), 'tag sections');
  });

  it('authorizes with a token from `bookings token` and shows the locks closed', async () => {
    const locks = () =>
      page.$$eval('.opblock', (els) =>
        Object.fromEntries(
          els.map((e) => [e.id, e.querySelector('.authorization__btn')?.getAttribute('aria-label') ?? null]),
        ),
      );
    const opId = (op) => `operations-${op.tags[0].replace(/\s/g, '_')}-${op.operationId}`;

    const before = await locks();
    for (const op of operations) {
      assert.equal(
        before[opId(op)],
        op.secured ? 'authorization button unlocked' : null,
        `${op.operationId} before authorizing`,
      );
    }
    assert.match(await page.getAttribute('.btn.authorize', 'class'), /\bunlocked\b/);

    await page.click('.btn.authorize');
    const modal = page.locator('.modal-ux');
    await modal.locator('input#auth-bearer-value').fill(API_TOKEN);
    await modal.locator('.auth-btn-wrapper button.authorize').click();
    await modal.locator('h6', { hasText: 'Authorized' }).waitFor();
    await modal.locator('.btn-done').click();
    await modal.waitFor({ state: 'detached' });

    assert.match(await page.getAttribute('.btn.authorize', 'class'), /\blocked\b/);
    const after = await locks();
    for (const op of operations) {
      assert.equal(
        after[opId(op)],
        op.secured ? 'authorization button locked' : null,
        `${op.operationId} after authorizing`,
      );
    }

    // The token Swagger UI holds is the one it sends: a secured operation answers 200.
    const op = page.locator('#operations-Calendars-getCalendar');
    await op.locator('.opblock-summary-control').click();
    await op.locator('.try-out__btn').click();
    await op.locator('tr[data-param-name="id"] input').fill(CALENDAR_ID);
    const [request, response] = await Promise.all([
      page.waitForRequest((r) => r.url().includes(`/calendars/${CALENDAR_ID}`)),
      page.waitForResponse((r) => r.url().includes(`/calendars/${CALENDAR_ID}`)),
      op.locator('button.execute').click(),
    ]);
    assert.equal(request.url(), `${BASE_URL}/v1/calendars/${CALENDAR_ID}`, 'Try it out request URL');
    assert.equal(request.headers()['authorization'], `Bearer ${API_TOKEN}`);
    assert.equal(response.status(), 200, await response.text());
    const status = op.locator('.live-responses-table tr.response .response-col_status');
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), '200');
    // Collapse it again so the screenshot shows the availability call.
    await op.locator('.opblock-summary-control').click();
  });

  it('tries getBookingAvailability for a future week and shows 200 with slots', async () => {
    const { start, end } = futureWeek();
    const op = page.locator('#operations-Booking-getBookingAvailability');
    await op.locator('.opblock-summary-control').click();
    await op.locator('.try-out__btn').click();
    await op.locator('tr[data-param-name="token"] input').fill(BOOKING_LINK_TOKEN);
    await op.locator('tr[data-param-name="start"] input').fill(start);
    await op.locator('tr[data-param-name="end"] input').fill(end);

    const isAvailability = (url) => url.includes('/availability?');
    const [request, response] = await Promise.all([
      page.waitForRequest((r) => isAvailability(r.url())),
      page.waitForResponse((r) => isAvailability(r.url())),
      op.locator('button.execute').click(),
    ]);
    // The contract's servers entry is the relative "/v1": it must resolve against the page.
    const sent = new URL(request.url());
    assert.equal(sent.origin, BASE_URL, 'Try it out went to another origin');
    assert.equal(sent.pathname, `/v1/booking/${encodeURIComponent(BOOKING_LINK_TOKEN)}/availability`);
    assert.equal(sent.searchParams.get('start'), start);
    assert.equal(sent.searchParams.get('end'), end);
    assert.equal(request.headers()['authorization'], undefined, 'a public operation sends no token');
    assert.equal(response.status(), 200, await response.text());

    // What the page shows.
    const live = op.locator('.live-responses-table');
    const status = live.locator('tr.response .response-col_status');
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), '200');
    assert.equal((await op.locator('.request-url pre').innerText()).trim(), request.url());
    const bodyText = await live.locator('tr.response .response-col_description .highlight-code pre').innerText();
    assert.match(bodyText, /"slots"/);
    const body = JSON.parse(bodyText);
    assert.equal(body.token, BOOKING_LINK_TOKEN);
    assert.ok(Array.isArray(body.slots) && body.slots.length >= 1, `slots: ${bodyText.slice(0, 200)}`);
    for (const slot of body.slots) {
      assert.ok(Date.parse(slot.start) >= Date.parse(start), `slot ${slot.start} in range`);
      assert.ok(Date.parse(slot.end) <= Date.parse(end), `slot ${slot.end} in range`);
    }
    await live.scrollIntoViewIfNeeded();
  });

  it('saves a screenshot', async () => {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    // The whole page down to the Schemas section (the header, the availability call with its
    // response, every tag and operation with its lock); the schema list below only adds height.
    const { width, height } = await page.evaluate(() => {
      const models = document.querySelector('.swagger-ui section.models');
      const bottom = models ? models.getBoundingClientRect().top + window.scrollY : document.body.scrollHeight;
      return { width: document.documentElement.clientWidth, height: Math.ceil(bottom) };
    });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width, height } });
    assert.ok(fs.statSync(SCREENSHOT).size > 10_000, 'screenshot written');
  });

  it('logged no errors in the browser console', async (t) => {
    // Chromium asks for /favicon.ico by itself; the server has none (404). Not the page's doing.
    const favicon = consoleErrors.filter((e) => e.includes('/favicon.ico)'));
    if (favicon.length) t.diagnostic(`ignored: ${favicon.join('; ')}`);
    assert.deepEqual(consoleErrors.filter((e) => !favicon.includes(e)), []);
  });

  it('made no request off this machine', async () => {
    assert.ok(requests.length > 0, 'requests were recorded');
    assert.ok(requests.some((u) => u.startsWith(`${BASE_URL}/docs`)), 'the page itself was recorded');
    const leaks = requests.map(offMachine).filter(Boolean);
    assert.deepEqual(leaks, [], 'requests bound off this machine (blocked, so none got out)');
  });
});
