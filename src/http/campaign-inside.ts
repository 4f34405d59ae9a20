/**
 * Inside a campaign, on the campaigns page (docs/campaigns.md#inside-a-campaign): a panel the page's script
 * opens from a card's "open" link (or /campaigns#open=ID). It reads the HTTP API only: the campaign object (its
 * cost), a page of its messages newest first with the outcome filters (the next page by the cursor), the CSV
 * export of the same filter, its dead letters grouped by code with EngageLab's messages, and its timeline,
 * drawn as an inline SVG chart. Everything is built as DOM nodes with textContent, so nothing a campaign holds
 * becomes markup; recipients are shown masked as the logs mask them.
 *
 * The panel lives outside <main>, which the page swaps every two seconds: an open panel keeps its filter and
 * its pages; its chart and figures refresh every five seconds.
 */

/** The panel's place in the page; the script fills it. */
export const INSIDE_SECTION = `<section id="inside" hidden>
<div class="top"><h2 id="inside-title"></h2><button type="button" id="inside-close">Close</button></div>
<div id="inside-error"></div>
<div id="inside-body">
<div id="inside-cost" class="note"></div>
<h3>Sends and delivery states over time</h3>
<div id="inside-chart"></div>
<h3>Messages, newest first</h3>
<form id="inside-filter">
<label>status <select name="status"><option value="">any</option><option>pending</option><option>sent</option><option>dead</option><option>skipped</option></select></label>
<label>delivery <select name="delivery"><option value="">any</option><option>failed</option><option>not_delivered</option><option>not_read</option><option>replied</option></select></label>
<label>error code <input name="code" size="8" inputmode="numeric" placeholder="e.g. 131026"></label>
<button type="submit">Apply</button>
<a id="inside-csv" href="#">CSV of this filter</a>
</form>
<div id="inside-filter-error"></div>
<table id="inside-messages"><thead><tr><th>updated</th><th>recipient</th><th>status</th><th>delivery</th><th>error</th><th>attempts</th><th>request_id</th></tr></thead><tbody></tbody></table>
<p id="inside-more-line"><span id="inside-count"></span> <button type="button" id="inside-more" hidden>Next page</button></p>
<h3>Dead letters by code</h3>
<div id="inside-dead"></div>
</div>
</section>`;

export const INSIDE_STYLE = `
  #inside { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px 20px; margin:0 24px 24px; max-width:1152px; }
  #inside { scroll-margin-top:72px; }
  #inside h2 { font-size:17px; margin:0; word-break:break-all; }
  #inside h3 { font-size:13px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; margin:18px 0 8px; }
  #inside form { display:flex; flex-wrap:wrap; gap:12px; align-items:center; font-size:13px; margin-bottom:10px; }
  #inside select, #inside input { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:5px; }
  #inside table { width:100%; margin-bottom:8px; }
  #inside td { font-size:12px; vertical-align:top; }
  #inside td.err { color:var(--dead); max-width:360px; }
  #inside-chart svg { display:block; max-width:100%; }
  #inside-chart .axis { stroke:var(--line); }
  #inside-chart text { font-size:11px; fill:var(--muted); }
  #inside .dead-code { margin:4px 0; font-size:13px; }
  #inside .dead-code b { color:var(--dead); }
  #inside-csv[aria-disabled="true"] { display:none; }`;

export const INSIDE_SCRIPT = `
// applied: the filter the table and the CSV link show (a query string); ok: whether the API accepted it.
const inside = { id: null, cursor: null, shown: 0, timer: null, applied: '', ok: false, count: '' };
/** A refused request, with what the API said (its JSON body's "error") and its HTTP status. */
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
const api = (path) => '/api/campaigns/' + encodeURIComponent(inside.id) + path;
const getJson = async (path) => { const res = await fetch(api(path), { cache: 'no-store' }); if (!res.ok) throw new ApiError(res.status, await apiError(res)); return res.json(); };
const num = (n) => Number(n).toLocaleString('en-US');
const maskTo = (to) => { const d = String(to).replace(/\\D/g, ''); return d.length <= 6 ? '*'.repeat(d.length) : d.slice(0, 4) + '*'.repeat(d.length - 6) + d.slice(-2); };
const shortIso = (iso) => (iso ? iso.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z') : '');

function filterQuery() {
  const form = new FormData($('inside-filter'));
  const q = new URLSearchParams();
  for (const name of ['status', 'delivery', 'code']) { const v = String(form.get(name) || '').trim(); if (v) q.set(name, v); }
  return q;
}

function costText(c) {
  if (!c.cost) return 'No template messages: nothing billed by category.';
  const counts = (x) => Object.entries(x.by_category).map(([k, n]) => k + ' ' + num(n)).join(', ') || 'none';
  const e = c.cost.estimate;
  // As the card's words (src/status/campaign-words.ts costWords): an estimate older than an enqueue without a card says so.
  const partial = e && e.messages < c.cost.templates.messages ? ' for ' + num(e.messages) + ' of them (a later enqueue had no rate card)' : '';
  const estimate = e ? 'estimate ' + (Object.entries(e.total).map(([cur, v]) => v + ' ' + cur).join(' + ') || 'nothing priced') + partial + (e.unpriced.messages ? ' (' + num(e.unpriced.messages) + ' unpriced)' : '') : 'no estimate (no RATE_CARD_FILE)';
  return 'template messages ' + num(c.cost.templates.messages) + ' (' + counts(c.cost.templates) + ') · ' + estimate + ' · billable so far ' + num(c.cost.billable.messages) + ' (' + counts(c.cost.billable) + ')';
}

const SERIES = [['sent', 'sent'], ['delivered', 'delivered'], ['read', 'read'], ['failed', 'failed']];
const SVG = 'http://www.w3.org/2000/svg';
const svgEl = (tag, attrs) => { const e = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v)); return e; };

/** Running totals per state over time, one point a minute that has counts. */
function drawChart(t) {
  const box = $('inside-chart');
  box.replaceChildren();
  if (t.points.length === 0) { box.append(el('p', 'Nothing sent yet.', 'empty')); return; }
  const W = 760, H = 220, L = 48, R = 12, T = 10, B = 26;
  const times = t.points.map((p) => Date.parse(p.at));
  const t0 = times[0], t1 = Math.max(times[times.length - 1] + t.minute_ms, t0 + t.minute_ms);
  const totals = {}; const series = {};
  for (const [k] of SERIES) { let run = 0; series[k] = t.points.map((p) => (run += p[k])); totals[k] = run; }
  const max = Math.max(1, ...Object.values(totals));
  const x = (ms) => L + ((ms + t.minute_ms - t0) / (t1 - t0)) * (W - L - R);
  const y = (n) => H - B - (n / max) * (H - T - B);
  const svg = svgEl('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'running totals by minute' });
  svg.append(svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }), svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  const label = (text, attrs) => { const e = svgEl('text', attrs); e.textContent = text; svg.append(e); };
  label(num(max), { x: L - 6, y: T + 10, 'text-anchor': 'end' });
  label('0', { x: L - 6, y: H - B, 'text-anchor': 'end' });
  const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16) + ' UTC';
  label(hhmm(t0), { x: L, y: H - 8 });
  label(hhmm(t1), { x: W - R, y: H - 8, 'text-anchor': 'end' });
  for (const [k] of SERIES) {
    if (totals[k] === 0) continue;
    const pts = times.map((ms, i) => x(ms).toFixed(1) + ',' + y(series[k][i]).toFixed(1));
    svg.append(svgEl('polyline', { points: [L + ',' + (H - B)].concat(pts).join(' '), fill: 'none', style: 'stroke:var(--' + k + ');stroke-width:2', 'data-series': k }));
    if (times.length <= 240) times.forEach((ms, i) => {
      const dot = svgEl('circle', { cx: x(ms).toFixed(1), cy: y(series[k][i]).toFixed(1), r: 2.5, style: 'fill:var(--' + k + ')', 'data-series': k });
      const title = svgEl('title', {}); title.textContent = k + ' ' + num(series[k][i]) + ' by ' + hhmm(ms + t.minute_ms); dot.append(title);
      svg.append(dot);
    });
  }
  box.append(svg);
  const legend = el('div', undefined, 'legend');
  for (const [k, name] of SERIES) { const s = el('span'); const i = el('i'); i.style.background = 'var(--' + k + ')'; s.append(i, name + ' ' + num(totals[k])); legend.append(s); }
  box.append(legend);
}

function messageRow(m) {
  const tr = el('tr');
  const d = m.delivery;
  const error = m.error ? [m.error.code ?? '', m.error.reason, m.error.message].filter((x) => x !== '').join(' · ') : d && d.error_code !== null ? 'delivery failed: ' + d.error_code : '';
  tr.append(el('td', shortIso(m.updated_at)), el('td', maskTo(m.to)), el('td', m.status), el('td', d ? d.status + (d.at ? ' ' + shortIso(d.at) : '') : ''), el('td', error, 'err'), el('td', m.attempts), el('td', m.request_id));
  return tr;
}

async function loadMessages(more) {
  const q = new URLSearchParams(inside.applied);
  q.set('order', 'newest');
  q.set('limit', '50');
  if (more && inside.cursor) q.set('cursor', inside.cursor);
  const body = $('inside-messages').tBodies[0];
  const page = await getJson('/messages?' + q);
  if (!more) { body.replaceChildren(); inside.shown = 0; }
  for (const m of page.messages) body.append(messageRow(m));
  inside.shown += page.messages.length;
  inside.cursor = page.next_cursor;
  $('inside-more').hidden = !page.next_cursor;
  inside.count = num(inside.shown) + ' shown' + (page.next_cursor ? ', more to look at' : ', no more');
  $('inside-count').textContent = inside.count;
}

/** The form edited but not applied: the table and its CSV link are the applied filter's, so say so and hide the link. */
function formEdited() {
  const changed = filterQuery().toString() !== inside.applied;
  const csv = $('inside-csv');
  if (changed || !inside.ok) csv.setAttribute('aria-disabled', 'true'); else csv.removeAttribute('aria-disabled');
  $('inside-more').hidden = changed || !inside.cursor;
  $('inside-count').textContent = changed ? 'The filter changed: Apply shows its messages and its CSV.' : inside.count;
}

async function loadDead() {
  const box = $('inside-dead');
  const d = await getJson('/dead-letters');
  box.replaceChildren();
  if (d.dead_letters.length === 0) { box.append(el('p', 'None.', 'empty')); return; }
  const byCode = new Map();
  for (const l of d.dead_letters) {
    const code = l.error.code === null ? 'no answer' : String(l.error.code);
    const g = byCode.get(code) || { n: 0, reason: l.error.reason, messages: new Map() };
    g.n++; g.messages.set(l.error.message, (g.messages.get(l.error.message) || 0) + 1);
    byCode.set(code, g);
  }
  for (const [code, g] of [...byCode].sort((a, b) => b[1].n - a[1].n)) {
    const line = el('div', undefined, 'dead-code');
    line.append(el('b', code), ' × ' + num(g.n) + ' (' + g.reason + '): ' + [...g.messages].map(([text, n]) => (g.messages.size > 1 ? n + '× ' : '') + text).join(' | '));
    box.append(line);
  }
  if (d.truncated) box.append(el('p', 'The first 1,000 only: "wa-bulk dlq list --campaign ' + inside.id + '" lists them all.', 'note'));
}

/** An unknown campaign (a mistyped #open=, or one Redis has let go): said in the panel, and no longer polled. */
function unknownCampaign(message) {
  clearInterval(inside.timer);
  $('inside-title').textContent = 'no campaign ' + inside.id;
  $('inside-body').hidden = true;
  notify('inside', message);
}

/** The campaign object, its cost and its chart; false when there is no such campaign. */
async function refreshInside() {
  if (!inside.id) return false;
  try {
    const [c, t] = await Promise.all([getJson(''), getJson('/timeline')]);
    $('inside-title').textContent = c.id + ' · ' + c.state;
    $('inside-cost').textContent = costText(c);
    drawChart(t);
    notify('inside', '');
    return true;
  } catch (e) {
    if (e.status === 404) { unknownCampaign(e.message); return false; }
    notify('inside', 'cannot load the campaign: ' + e.message);
    return true;
  }
}

/** The messages of the filter shown; a refused filter empties the table and hides its CSV link, so that neither disagrees with the form. */
async function applyFilter() {
  const q = filterQuery();
  inside.applied = q.toString();
  q.set('format', 'csv');
  const csv = $('inside-csv');
  try {
    await loadMessages(false);
    csv.href = api('/export?' + q);
    inside.ok = true;
    formEdited();
    notify('filter', '');
  } catch (e) {
    inside.ok = false;
    inside.count = '';
    $('inside-messages').tBodies[0].replaceChildren();
    inside.shown = 0;
    inside.cursor = null;
    $('inside-more').hidden = true;
    $('inside-count').textContent = '';
    csv.removeAttribute('href');
    csv.setAttribute('aria-disabled', 'true');
    notify('filter', 'cannot filter: ' + e.message);
  }
}

async function openInside(id) {
  inside.id = id;
  inside.cursor = null;
  $('inside').hidden = false;
  $('inside-body').hidden = false;
  $('inside-title').textContent = id;
  $('inside-filter').reset();
  for (const key of ['inside', 'inside-dead', 'filter']) notify(key, '');
  if (location.hash !== '#open=' + encodeURIComponent(id)) history.replaceState(null, '', '#open=' + encodeURIComponent(id));
  clearInterval(inside.timer);
  if (await refreshInside()) {
    inside.timer = setInterval(refreshInside, 5000);
    await Promise.all([applyFilter(), loadDead().then(() => notify('inside-dead', ''), (e) => notify('inside-dead', 'cannot load its dead letters: ' + e.message))]);
  }
  $('inside').scrollIntoView({ behavior: 'instant', block: 'start' });
}

function closeInside() {
  inside.id = null;
  clearInterval(inside.timer);
  for (const key of ['inside', 'inside-dead', 'filter']) notify(key, '');
  $('inside').hidden = true;
  history.replaceState(null, '', location.pathname);
}

$('inside-filter').addEventListener('input', formEdited);
$('inside-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  applyFilter();
});
$('inside-more').addEventListener('click', () =>
  loadMessages(true).then(() => notify('filter', ''), (e) => notify('filter', 'cannot load the next page: ' + e.message)),
);
$('inside-close').addEventListener('click', closeInside);
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-open]');
  if (!link) return;
  event.preventDefault();
  openInside(link.dataset.open);
});
const opened = /^#open=(.+)$/.exec(location.hash);
if (opened) openInside(decodeURIComponent(opened[1]));`;
