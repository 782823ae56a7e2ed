// End-to-end tests of the visitor's booking pages (issue #22) in headless Chromium, with axe.
//
// Run by scripts/browser-test.sh next to swagger.test.mjs, against the same server. Environment:
//   BASE_URL      the server (required)
//   API_TOKEN     a bearer JWT with calendar:write booking:write (required)
//   CALENDAR_ID   a calendar of API_TOKEN's subject (required)
//   CHROMIUM_PATH default /usr/bin/chromium
//   ARTIFACTS_DIR default e2e/artifacts (a screenshot of every state goes there)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = path.dirname(fileURLToPath(import.meta.url));
function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/browser-test.sh)`);
  return value;
}
const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const API_TOKEN = env('API_TOKEN');
const CALENDAR_ID = env('CALENDAR_ID');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR || path.join(here, 'artifacts');
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

// The instant of the test: Pacific/Auckland leaves daylight time on Sunday 4 April 2027 at
// 03:00 NZDT (14:00 UTC on the 3rd), so 02:00-03:00 happens twice. The slot booked is the second
// 02:00 (NZST), 14:00 UTC, which is 11:00 on Saturday 3 April in America/Asuncion (UTC-3).
const DST_SLOT = '20270403T140000Z';
const DST_DAY = '2027-04-04';

async function api(method, p, body) {
  const res = await fetch(`${BASE_URL}${p}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A new link in America/Asuncion, free all day every day. */
async function newLink() {
  const day = [{ start: '00:00', end: '24:00' }];
  const hours = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, day]));
  const r = await api('POST', `/v1/calendars/${CALENDAR_ID}/booking-link`, {
    duration_minutes: 30, buffer_minutes: 0, timezone: 'America/Asuncion', working_hours: hours,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token;
}

function offMachine(url) {
  const u = new URL(url);
  if (['data:', 'blob:', 'about:', 'chrome-error:'].includes(u.protocol)) return null;
  if (LOCAL_HOSTS.has(u.hostname)) return null;
  return url;
}

describe('booking pages', { timeout: 240_000 }, () => {
  let browser;
  const leaks = [];
  const consoleErrors = [];
  const axeResults = [];

  async function context(options = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    ctx.setDefaultTimeout(15_000);
    ctx.on('request', (req) => { if (offMachine(req.url())) leaks.push(req.url()); });
    await ctx.route((url) => offMachine(url.href) !== null, (route) => route.abort('blockedbyclient'));
    ctx.on('page', (page) => {
      page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(`${msg.text()} (${msg.location().url})`); });
      page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    });
    return ctx;
  }

  /** axe, a horizontal-scroll check and a screenshot of the state `name`. */
  async function check(page, name, { axe = true } = {}) {
    // A click on a link returns once the navigation starts: wait for the page and its stylesheet.
    await page.waitForLoadState('load');
    if (axe) await runAxe(page, name);
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, `booking-${name}.png`), fullPage: true });
    const overflow = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)}px)`);
      return { by: document.documentElement.scrollWidth - width, wide };
    }).catch(() => null);
    if (overflow !== null) assert.ok(overflow.by <= 0, `${name}: horizontal scroll of ${overflow.by}px: ${overflow.wide.join(', ')}`);
  }

  async function runAxe(page, name) {
    const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
    const violations = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    axeResults.push({ name, violations });
    assert.deepEqual(violations, [], `axe violations in ${name}`);
  }

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
  });

  it('a visitor in Pacific/Auckland books an America/Asuncion link across the DST change', async () => {
    const link = await newLink();
    const ctx = await context({ timezoneId: 'Pacific/Auckland', locale: 'en-NZ' });
    const page = await ctx.newPage();
    // First visit: the script fills the zone in from Intl.
    await page.goto(`${BASE_URL}/booking/${link}`);
    await page.waitForURL(/tz=Pacific%2FAuckland/);
    await check(page, 'picker-en');
    await page.goto(`${BASE_URL}/booking/${link}?tz=Pacific%2FAuckland&lang=en&month=2027-04&day=${DST_DAY}`);
    // 02:00 comes twice that night; each is named with its zone's abbreviation.
    const first = page.getByRole('link', { name: '2:00 am to 2:30 am, Sunday 4 April, Pacific/Auckland (NZDT)' });
    const second = page.getByRole('link', { name: '2:00 am to 2:30 am, Sunday 4 April, Pacific/Auckland (NZST)' });
    await first.waitFor();
    assert.match(await second.getAttribute('href'), new RegExp(`slot=${DST_SLOT}`));
    await second.click();
    await page.getByText('Saturday 3 April 2027, 11:00 am – 11:30 am (America/Asuncion, -03)').waitFor();
    await check(page, 'form-en');
    // Server-side validation: the summary, each field's message, the values kept.
    await page.getByLabel('Email').fill('not an address');
    await page.getByRole('button', { name: 'Book this time' }).click();
    await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), 'not an address');
    await check(page, 'form-errors-en');
    await page.getByLabel('Name').fill('Kiri Tane');
    await page.getByLabel('Email').fill('kiri@example.com');
    await page.getByRole('button', { name: 'Book this time' }).click();
    await page.getByRole('heading', { name: 'You are booked', level: 1 }).waitFor();
    const shown = await page.locator('.facts').innerText();
    assert.match(shown, /Sunday 4 April 2027, 2:00\u00a0am – 2:30\u00a0am \(Pacific\/Auckland, NZST\)/);
    assert.match(shown, /Saturday 3 April 2027, 11:00\u00a0am – 11:30\u00a0am \(America\/Asuncion, -03\)/);
    await check(page, 'confirmation-en');
    // The .ics: the same instant, written in the link's zone.
    const ics = await page.getByRole('link', { name: 'Add to calendar (.ics)' }).getAttribute('href');
    const icsText = await (await page.request.get(`${BASE_URL}${ics}`)).text();
    assert.match(icsText, /DTSTART;TZID=America\/Asuncion:20270403T110000/);
    assert.match(icsText, /DTEND;TZID=America\/Asuncion:20270403T113000/);
    // The owner's calendar: the same instant.
    const events = await api('GET', `/v1/calendars/${CALENDAR_ID}/events?start=2027-04-03T00:00:00Z&end=2027-04-05T00:00:00Z`);
    assert.equal(events.status, 200, JSON.stringify(events.body));
    const list = Array.isArray(events.body) ? events.body : events.body.items ?? events.body.events ?? [];
    const booked = list.find((e) => (e.attendee_email ?? e.attendeeEmail ?? JSON.stringify(e)).includes('kiri@example.com')) ?? list[0];
    assert.ok(booked, `events: ${JSON.stringify(events.body)}`);
    const start = booked.starts_at ?? booked.start ?? booked.startsAt;
    assert.equal(new Date(start).toISOString(), '2027-04-03T14:00:00.000Z');
    await ctx.close();
  });

  it('books with JavaScript disabled, in Spanish, on a 320-pixel phone', async () => {
    const link = await newLink();
    const ctx = await context({ javaScriptEnabled: false, viewport: { width: 320, height: 700 }, locale: 'es-PY', extraHTTPHeaders: { 'accept-language': 'es-PY,es;q=0.9' } });
    const page = await ctx.newPage();
    await page.goto(`${BASE_URL}/booking/${link}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'es');
    // The zone select and its button (no script to fill it in).
    await page.getByLabel('Zona horaria').selectOption('Pacific/Auckland');
    await page.getByRole('button', { name: 'Mostrar las horas en esta zona' }).click();
    await page.waitForURL(/tz=Pacific%2FAuckland/);
    await check(page, 'picker-es-320', { axe: false });
    await page.getByRole('link', { name: /Mes siguiente/ }).click();
    await page.locator('.grid a.day').first().click();
    await page.locator('.slot').first().click();
    await page.getByLabel('Nombre').fill('Ana');
    await page.getByLabel('Correo electrónico').fill('ana@example.com');
    await check(page, 'form-es-320', { axe: false });
    await page.getByRole('button', { name: 'Reservar esta hora' }).click();
    await page.getByRole('heading', { name: 'Reserva confirmada', level: 1 }).waitFor();
    await check(page, 'confirmation-es-320', { axe: false });
    // The manage page: reschedule, then cancel, all without script.
    await page.locator('a.long').click();
    await page.getByRole('heading', { name: 'Su reserva', level: 1 }).waitFor();
    await check(page, 'manage-es-320', { axe: false });
    await page.getByRole('link', { name: 'Cambiar la hora' }).click();
    await check(page, 'reschedule-es-320', { axe: false });
    // A day of next month, as when booking: today's times run out late in the day.
    await page.getByRole('link', { name: /Mes siguiente/ }).click();
    await page.locator('.grid a.day').nth(1).click();
    await page.locator('.slot').nth(2).click();
    await page.getByRole('button', { name: 'Mover mi reserva a esta hora' }).click();
    await page.getByText('Su reserva se ha movido.').waitFor();
    await page.getByRole('link', { name: 'Cancelar esta reserva' }).click();
    await check(page, 'cancel-es-320', { axe: false });
    await page.getByLabel('Motivo (opcional)').fill('Me surgió otra cosa');
    await page.getByRole('button', { name: 'Sí, cancelarla' }).click();
    await page.getByText('Esta reserva está cancelada.').waitFor();
    await check(page, 'canceled-es-320', { axe: false });
    await ctx.close();
  });

  it('axe finds no violation in any state, in English and in Spanish', async () => {
    const words = {
      en: { next: 'Next month', book: 'Book this time', problem: 'There is a problem', booked: 'You are booked', name: 'Name',
        email: 'Email', resched: 'Reschedule', move: 'Move my booking to this time', moved: 'Your booking was moved.',
        cancel: 'Cancel this booking', yes: 'Yes, cancel it', canceled: 'This booking is canceled.' },
      es: { next: 'Mes siguiente', book: 'Reservar esta hora', problem: 'Hay un problema', booked: 'Reserva confirmada', name: 'Nombre',
        email: 'Correo electrónico', resched: 'Cambiar la hora', move: 'Mover mi reserva a esta hora', moved: 'Su reserva se ha movido.',
        cancel: 'Cancelar esta reserva', yes: 'Sí, cancelarla', canceled: 'Esta reserva está cancelada.' },
    };
    for (const [lang, w] of Object.entries(words)) {
      for (const scheme of ['light', 'dark']) {
        const link = await newLink();
        const ctx = await context({ colorScheme: scheme, viewport: { width: 390, height: 844 } });
        const page = await ctx.newPage();
        const state = (name) => check(page, `${name}-${lang}-${scheme}`);
        await page.goto(`${BASE_URL}/booking/${link}?tz=America%2FAsuncion&lang=${lang}`);
        await state('axe-picker');
        await page.getByRole('link', { name: w.next }).click();
        await page.locator('.grid a.day').nth(1).click();
        await page.waitForFunction(() => document.querySelector('[aria-busy]') === null);
        await state('axe-day');
        await page.locator('.slot').first().click();
        await state('axe-form');
        await page.getByRole('button', { name: w.book }).click();
        await page.getByRole('heading', { name: w.problem }).waitFor();
        await state('axe-errors');
        await page.getByLabel(w.name).fill('Axe');
        await page.getByLabel(w.email).fill('axe@example.com');
        await page.getByRole('button', { name: w.book }).click();
        await page.getByRole('heading', { name: w.booked, level: 1 }).waitFor();
        await state('axe-confirmation');
        await page.locator('a.long').click();
        await state('axe-manage');
        await page.getByRole('link', { name: w.resched }).click();
        await state('axe-reschedule');
        // A day of next month, as when booking: today's times run out late in the day.
        await page.getByRole('link', { name: w.next }).click();
        await page.locator('.grid a.day').nth(2).click();
        await page.waitForFunction(() => document.querySelector('[aria-busy]') === null);
        await page.locator('.slot').nth(1).click();
        await state('axe-move');
        await page.getByRole('button', { name: w.move }).click();
        await page.getByText(w.moved).waitFor();
        await page.getByRole('link', { name: w.cancel }).click();
        await state('axe-cancel');
        await page.getByRole('button', { name: w.yes }).click();
        await page.getByText(w.canceled).waitFor();
        await state('axe-canceled');
        await page.goto(`${BASE_URL}/booking/no-such-link?lang=${lang}`);
        await state('axe-not-found');
        await ctx.close();
      }
    }
  });

  it('books with the keyboard only', async () => {
    const link = await newLink();
    const ctx = await context({ timezoneId: 'Pacific/Auckland' });
    const page = await ctx.newPage();
    await page.goto(`${BASE_URL}/booking/${link}?tz=Pacific%2FAuckland&lang=en`);
    const focused = () => page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName}.${el.className}|${el.textContent}` : '';
    });
    async function tabTo(pattern, max = 40) {
      for (let i = 0; i < max; i += 1) {
        await page.keyboard.press('Tab');
        if (pattern.test(await focused())) return;
      }
      throw new Error(`never focused ${pattern}; at ${await focused()}`);
    }
    await tabTo(/^A\.day/);
    const startDay = await page.evaluate(() => document.activeElement.dataset.date);
    await page.keyboard.press('ArrowDown');
    const nextWeek = await page.evaluate(() => document.activeElement.dataset.date);
    assert.equal((Date.parse(nextWeek) - Date.parse(startDay)) / 86400000, 7, 'ArrowDown moves a week');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.date), nextWeek);
    // Home and End: the first and last day of that week (Monday, Sunday).
    await page.keyboard.press('Home');
    const monday = await page.evaluate(() => document.activeElement.dataset.date);
    assert.equal(new Date(`${monday}T12:00:00Z`).getUTCDay(), 1, `Home: ${monday}`);
    await page.keyboard.press('End');
    const sunday = await page.evaluate(() => document.activeElement.dataset.date);
    assert.ok(new Date(`${sunday}T12:00:00Z`).getUTCDay() === 0 || sunday.endsWith(String(new Date(Date.UTC(+sunday.slice(0, 4), +sunday.slice(5, 7), 0)).getUTCDate())), `End: ${sunday}`);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowLeft');
    // Back to the day the test means to choose.
    for (let i = 0; i < 7 && (await page.evaluate(() => document.activeElement.dataset.date)) !== nextWeek; i += 1) {
      await page.keyboard.press('ArrowLeft');
    }
    assert.equal(await page.evaluate(() => document.activeElement.dataset.date), nextWeek);
    await page.keyboard.press('Enter');
    await page.waitForFunction((d) => document.querySelector('.grid a.sel')?.dataset.date === d, nextWeek);
    await tabTo(/^A\.slot/);
    await page.keyboard.press('Enter');
    await page.getByLabel('Name').waitFor();
    await tabTo(/^INPUT\./);
    await page.keyboard.type('Keyboard User');
    await page.keyboard.press('Tab');
    await page.keyboard.type('keys@example.com');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'You are booked', level: 1 }).waitFor();
    await ctx.close();
  });

  it('month changes load in place and are announced; layouts fit 390 px and a desktop', async () => {
    const link = await newLink();
    for (const [width, label] of [[390, 'phone'], [1280, 'desktop']]) {
      const ctx = await context({ viewport: { width, height: 844 }, timezoneId: 'America/Asuncion' });
      const page = await ctx.newPage();
      await page.goto(`${BASE_URL}/booking/${link}?tz=America%2FAsuncion&lang=en`);
      await check(page, `picker-${label}`);
      fs.copyFileSync(path.join(ARTIFACTS_DIR, `booking-picker-${label}.png`), path.join(ARTIFACTS_DIR, `docs-booking-${label}.png`));
      const title = await page.locator('#month-title').innerText();
      await page.getByRole('link', { name: 'Next month' }).click();
      await page.waitForFunction((t) => document.querySelector('#month-title')?.innerText !== t, title);
      const live = await page.locator('[data-live]').innerText();
      assert.equal(live, await page.locator('#month-title').innerText(), 'the live region says the new month');
      await page.locator('.slot').first().click();
      await page.getByLabel('Name').fill('Layout Check');
      await page.getByLabel('Email').fill('layout@example.com');
      await check(page, `form-${label}`);
      await page.getByRole('button', { name: 'Book this time' }).click();
      await page.getByRole('heading', { name: 'You are booked', level: 1 }).waitFor();
      await page.locator('a.long').click();
      await page.getByRole('heading', { name: 'Your booking', level: 1 }).waitFor();
      await check(page, `manage-${label}`);
      fs.copyFileSync(path.join(ARTIFACTS_DIR, `booking-manage-${label}.png`), path.join(ARTIFACTS_DIR, `docs-manage-${label}.png`));
      await ctx.close();
    }
  });

  it('a slot taken by an API call while the form is open gives the taken state and fresh slots', async () => {
    const link = await newLink();
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${BASE_URL}/booking/${link}?tz=America%2FAsuncion&lang=en`);
    const slotLink = page.locator('.slot').first();
    const href = await slotLink.getAttribute('href');
    const slot = new URL(href, BASE_URL).searchParams.get('slot');
    await slotLink.click();
    await page.getByLabel('Name').fill('Late Visitor');
    await page.getByLabel('Email').fill('late@example.com');
    const start = new Date(`${slot.slice(0, 4)}-${slot.slice(4, 6)}-${slot.slice(6, 8)}T${slot.slice(9, 11)}:${slot.slice(11, 13)}:00Z`);
    const end = new Date(start.getTime() + 30 * 60000);
    const r = await fetch(`${BASE_URL}/v1/booking/${link}/reserve`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'API', email: 'api@example.com', slot_start: start.toISOString(), slot_end: end.toISOString() }),
    });
    assert.equal(r.status, 200, await r.text());
    const [response] = await Promise.all([
      page.waitForResponse((res) => res.request().method() === 'POST'),
      page.getByRole('button', { name: 'Book this time' }).click(),
    ]);
    assert.equal(response.status(), 409);
    await page.getByText('Sorry, that time was just taken.').waitFor();
    const hrefs = await page.locator('.slot').evaluateAll((els) => els.map((e) => e.getAttribute('href')));
    assert.ok(hrefs.length > 0 && !hrefs.some((h) => h.includes(`slot=${slot}`)), 'fresh slots, without the taken one');
    await check(page, 'taken-en');
    await page.goto(`${BASE_URL}/booking/no-such-link?lang=es`);
    await check(page, 'not-found-es');
    await ctx.close();
  });

  it('the embed view, framed by a page on another port, posts bookings:booked; other pages refuse framing', async () => {
    const link = await newLink();
    const parent = http.createServer((req, res) => {
      const embed = req.url.startsWith('/embed');
      const src = `${BASE_URL}/booking/${link}?tz=America%2FAsuncion&lang=en${embed ? '&embed=1' : ''}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><title>Shop</title><main><h1>Shop</h1>
<iframe id="booking" title="Booking" src="${src}" style="width:100%;border:0;height:600px"></iframe></main>
<script>window.messages = []; addEventListener('message', (e) => { window.messages.push(e.data);
  if (e.data && e.data.type === 'bookings:resize') document.getElementById('booking').style.height = e.data.height + 'px'; });</script>`);
    });
    await new Promise((resolve) => parent.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${parent.address().port}`;
    try {
      const ctx = await context();
      const page = await ctx.newPage();
      await page.goto(`${origin}/embed`);
      const frame = page.frameLocator('#booking');
      await frame.locator('.slot').first().click();
      await frame.getByLabel('Name').fill('Framed Visitor');
      await frame.getByLabel('Email').fill('framed@example.com');
      await frame.getByRole('button', { name: 'Book this time' }).click();
      await frame.getByRole('heading', { name: 'You are booked' }).waitFor();
      await page.waitForFunction(() => window.messages.some((m) => m && m.type === 'bookings:booked'));
      const messages = await page.evaluate(() => window.messages);
      const booked = messages.find((m) => m.type === 'bookings:booked');
      assert.match(booked.id, /^[0-9a-f-]{36}$/);
      assert.ok(messages.some((m) => m.type === 'bookings:resize' && m.height > 100), 'resize posted');
      fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'booking-embed.png'), fullPage: true });
      // Without ?embed=1 the page refuses to be framed by another origin.
      const refused = await ctx.newPage();
      await refused.goto(`${origin}/plain`);
      await refused.waitForTimeout(500);
      const framed = refused.frames().find((f) => f !== refused.mainFrame());
      // Chromium shows its own error page ("... is blocked") in place of the refused document.
      const content = framed ? await framed.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
      assert.ok(!content.includes('Choose a day') && !content.includes('Free times'), `the non-embed page rendered inside another origin's frame: ${content}`);
      assert.ok(!framed || framed.url().startsWith('chrome-error:') || /blocked/.test(content), `frame: ${framed?.url()} ${content}`);
      await ctx.close();
    } finally {
      parent.close();
    }
  });

  it('logged no browser errors (beyond the refused frame) and made no request off this machine', async () => {
    const unexpected = consoleErrors.filter((e) => !e.includes('/favicon.ico') && !/frame-ancestors|X-Frame-Options|Refused to display/.test(e)
      && !e.includes('409') && !e.includes('422') && !e.includes('404'));
    assert.deepEqual(unexpected, []);
    assert.deepEqual(leaks, []);
  });
});
