// The booking pages' progressive enhancement. Everything works without this module (links and
// forms); with it: the visitor's zone is filled in from Intl on a first visit, arrow keys move
// through the date grid (WAI-ARIA date picker pattern), month and day changes load without a
// full reload (announced in a live region), a form is not sent twice, and the embed view tells
// its parent window its height (bookings:resize) and a new booking (bookings:booked).
const root = document.documentElement;
const embedded = root.hasAttribute('data-embed') && window.parent !== window;

// --- Zone: a first visit (no ?tz=) shows the link's zone; switch to the browser's own.
const zoneForm = document.querySelector('[data-zone-form][data-tz-auto]');
if (zoneForm) {
  let zone = '';
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch { zone = ''; }
  const select = zoneForm.querySelector('select[name="tz"]');
  const known = select && [...select.options].some((o) => o.value === zone);
  if (zone && known && select.value !== zone) {
    const url = new URL(window.location.href);
    url.searchParams.set('tz', zone);
    window.location.replace(url.toString());
  }
}

// --- The grid: roving focus over the days, arrows per the date picker pattern.
function days() { return [...document.querySelectorAll('.grid [data-date]')]; }

function setupGrid() {
  const cells = days();
  if (!cells.length) return;
  const current = cells.find((c) => c.getAttribute('aria-current') === 'date') || cells.find((c) => c.tagName === 'A') || cells[0];
  for (const c of cells) c.tabIndex = c === current ? 0 : -1;
}

function moveFocus(from, delta) {
  const cells = days();
  const i = cells.indexOf(from);
  const j = i + delta;
  if (i < 0) return;
  if (j < 0 || j >= cells.length) {
    const nav = document.querySelector(`[data-month-nav][rel="${j < 0 ? 'prev' : 'next'}"]`);
    if (nav) go(nav.href, { focusDay: j < 0 ? 'last' : 'first' });
    return;
  }
  for (const c of cells) c.tabIndex = -1;
  cells[j].tabIndex = 0;
  cells[j].focus();
}

document.addEventListener('keydown', (event) => {
  const cell = event.target.closest && event.target.closest('.grid [data-date]');
  if (!cell) return;
  const cells = days();
  const i = cells.indexOf(cell);
  // The day's column (Monday 0): the month's first day sits after firstOffset() empty cells.
  const weekStart = i - ((i + firstOffset()) % 7);
  let delta = null;
  switch (event.key) {
    case 'ArrowLeft': delta = -1; break;
    case 'ArrowRight': delta = 1; break;
    case 'ArrowUp': delta = -7; break;
    case 'ArrowDown': delta = 7; break;
    case 'Home': delta = Math.max(weekStart, 0) - i; break;
    case 'End': delta = Math.min(weekStart + 6, cells.length - 1) - i; break;
    case 'PageUp': case 'PageDown': {
      const nav = document.querySelector(`[data-month-nav][rel="${event.key === 'PageUp' ? 'prev' : 'next'}"]`);
      if (nav) { event.preventDefault(); go(nav.href, { focusDay: 'first' }); }
      return;
    }
    case ' ': if (cell.tagName === 'A') { event.preventDefault(); cell.click(); } return;
    default: return;
  }
  event.preventDefault();
  moveFocus(cell, delta);
});

/** How many empty cells precede the 1st in its week row. */
function firstOffset() {
  const first = document.querySelector('.grid tbody tr');
  if (!first) return 0;
  return [...first.children].findIndex((td) => td.querySelector('[data-date]'));
}

// --- No full reloads for month and day changes: fetch the page, swap the picker.
async function go(href, { focusDay = null, push = true } = {}) {
  const picker = document.getElementById('picker');
  if (!picker) { window.location.href = href; return; }
  picker.setAttribute('aria-busy', 'true');
  try {
    const response = await fetch(href, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
    if (!response.ok) throw new Error(String(response.status));
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const fresh = doc.getElementById('picker');
    if (!fresh) throw new Error('no picker');
    const oldMonth = picker.querySelector('#month-title')?.textContent;
    picker.replaceWith(fresh);
    if (push) history.pushState({}, '', href);
    document.title = doc.title;
    setupGrid();
    const newMonth = fresh.querySelector('#month-title')?.textContent || '';
    const live = document.querySelector('[data-live]');
    if (live && newMonth !== oldMonth) live.textContent = newMonth;
    const cells = days();
    let target = null;
    if (focusDay === 'first') target = cells.find((c) => c.tagName === 'A') || cells[0];
    else if (focusDay === 'last') target = [...cells].reverse().find((c) => c.tagName === 'A') || cells[cells.length - 1];
    else if (focusDay === 'selected') target = fresh.querySelector('.slot') || cells.find((c) => c.tabIndex === 0);
    if (target) { for (const c of cells) c.tabIndex = -1; if (cells.includes(target)) target.tabIndex = 0; target.focus(); }
    resize();
  } catch {
    window.location.href = href;
  }
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest && event.target.closest('a[data-month-nav], .grid a.day');
  if (!a) return;
  event.preventDefault();
  go(a.href, { focusDay: a.hasAttribute('data-month-nav') ? null : 'selected' });
});

window.addEventListener('popstate', () => { go(window.location.href, { push: false }); });

// --- Forms are sent once.
for (const form of document.querySelectorAll('form[data-once]')) {
  form.addEventListener('submit', (event) => {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = '1';
    for (const b of form.querySelectorAll('button[type="submit"]')) b.setAttribute('aria-disabled', 'true');
  });
}

// --- An error summary takes the focus, so it is read first.
document.querySelector('[data-focus]')?.focus();

// --- The embed view talks to its parent: its height, and a booking made.
function resize() {
  if (!embedded) return;
  window.parent.postMessage({ type: 'bookings:resize', height: document.documentElement.scrollHeight }, '*');
}
if (embedded) {
  resize();
  if ('ResizeObserver' in window) new ResizeObserver(resize).observe(document.body);
  const booked = document.querySelector('[data-booked-id]');
  if (booked) window.parent.postMessage({ type: 'bookings:booked', id: booked.getAttribute('data-booked-id') }, '*');
}

setupGrid();
