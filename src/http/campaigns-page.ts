import type { LaneState } from '../lanes/lanes.js';
import type { CampaignCounts } from '../ledger/records.js';
import { breakdown, campaignTiming, costWords, shortTime } from '../status/campaign-words.js';
import type { CampaignWithRest } from '../status/resting.js';
import { dropUrlCredentials } from './drop-url-credentials.js';
import { INSIDE_SCRIPT, INSIDE_SECTION, INSIDE_STYLE } from './campaign-inside.js';
import type { Followup } from '../campaigns/followups.js';
import { FOLLOWUPS_SCRIPT, followupsBlock } from './followups-block.js';

/**
 * The campaigns page (/campaigns): every campaign at a glance, its state, settings, progress, timing, delivery
 * funnel, dead letters and failed deliveries by code, links to its export, dead letters and rejected lines,
 * with pause, resume and cancel; the fleet's senders and messaging limit above them. Rendered here, on the
 * server, so that it shows everything before (and without) its script; the script then fetches the page
 * again every two seconds and swaps its <main>, and posts the buttons' actions as JSON. Every value is
 * escaped, so a campaign's pause reason cannot inject markup.
 */

/** What the page shows (GET /api/campaigns answers the same as JSON). */
export interface CampaignsOverview {
  /** `resting`: its pending messages waiting out their recipients' marketing rest (../status/resting.ts). */
  campaigns: Array<CampaignWithRest & { enqueued_at: string; parked: number }>;
  paused: boolean;
  pause_reason: string | null;
  /** `parked`: of `waiting`, the jobs of paused campaigns, set aside until they resume. */
  senders: Array<LaneState & { parked: number }>;
  messaging_limit: { limit: number | 'unlimited'; used: number; held: number };
  dead: number;
}

/** Who last paused, resumed or cancelled each campaign, and when (from the audit log), by campaign id. */
export type CampaignActors = Record<string, { actor: string; action: string; at: string }>;

const DID: Record<string, string> = {
  'campaign.pause': 'paused',
  'campaign.resume': 'resumed',
  'campaign.cancel': 'cancelled',
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (n: number, total: number) => (total > 0 ? (100 * n) / total : 0);

type Part = [n: number, color: string, label: string];

function bar(parts: Part[], total: number): string {
  const spans = parts
    .filter(([n]) => n > 0)
    .map(
      ([n, color, label]) =>
        `<span style="width:${pct(n, total).toFixed(3)}%;background:var(--${color})" title="${esc(`${label}: ${fmt(n)}`)}"></span>`,
    );
  return `<div class="bar">${spans.join('')}</div>`;
}

const legend = (parts: Part[]) =>
  `<div class="legend">${parts.map(([n, color, label]) => `<span><i style="background:var(--${color})"></i>${esc(label)} ${fmt(n)}</span>`).join('')}</div>`;

const line = (cls: string, text: string) => (text ? `<div class="${cls}">${esc(text)}</div>` : '');

/** Counts by code in words, the code "none" named `none`. */
const codes = (counts: Record<string, number>, none: string) =>
  breakdown(Object.fromEntries(Object.entries(counts).map(([code, n]) => [code === 'none' ? none : code, n])));

function links(c: CampaignCounts): string {
  const base = `/api/campaigns/${encodeURIComponent(c.id)}`;
  const items = [
    [`${base}/export?format=csv`, 'export CSV', true],
    [`${base}/export?format=jsonl`, 'export JSONL', true],
    [`${base}/dead-letters`, `dead letters (${fmt(c.dead)})`, c.dead > 0],
    [`${base}/rejects`, `rejected lines (${fmt(c.rejected ?? 0)})`, (c.rejected ?? 0) > 0],
  ] as const;
  // "open" shows the campaign inside the page (./campaign-inside.ts); without the script it goes nowhere.
  const open = `<a href="#open=${esc(encodeURIComponent(c.id))}" data-open="${esc(c.id)}">open</a>`;
  return `<div class="links">${open}${items
    .filter(([, , shown]) => shown)
    .map(([href, text]) => `<a href="${esc(href)}">${esc(text)}</a>`)
    .join('')}</div>`;
}

function card(c: CampaignsOverview['campaigns'][number], now: number, by?: CampaignActors[string]): string {
  const done = c.state === 'done' || c.state === 'cancelled';
  const settled = c.sent + c.dead + c.skipped;
  const progress: Part[] = [
    [c.sent, 'sent', 'sent'],
    [c.dead, 'dead', 'dead'],
    [c.skipped, 'skipped', 'skipped'],
    [c.pending, 'pending', 'pending'],
  ];
  const d = c.delivery;
  const noReport = Math.max(0, d.sent - d.delivered - d.failed);
  const funnel: Part[] = [
    [d.delivered, 'delivered', 'delivered (read included)'],
    [d.read, 'read', 'read'],
    [d.failed, 'failed', 'failed'],
    [noReport, 'pending', 'no report yet'],
  ];
  // The bar's parts do not overlap: its delivered part is those delivered and not (yet) read.
  const funnelBar: Part[] = [
    [d.read, 'read', 'read'],
    [d.delivered - d.read, 'delivered', 'delivered, not read'],
    [d.failed, 'failed', 'failed'],
    [noReport, 'pending', 'no report yet'],
  ];
  const settings = [
    `${c.priority} priority`,
    c.send_window ? `window ${c.send_window} local` : '',
    c.expires_at ? `expires ${shortTime(c.expires_at)}` : '',
    `last enqueue ${shortTime(c.enqueued_at)}`,
    c.archived ? 'from the long-term ledger' : '',
  ];
  const button = (action: string, label: string, disabled: boolean, cls = '') =>
    `<button data-action="${action}" data-campaign="${esc(c.id)}"${cls ? ` class="${cls}"` : ''}${disabled ? ' disabled' : ''}>${label}</button>`;
  return `<div class="card" id="campaign-${esc(c.id)}">
<div class="top"><span class="name">${esc(c.id)}</span><span class="state ${c.state}">${c.state}</span></div>
${line('settings', settings.filter(Boolean).join(' · '))}
${c.pause_reason ? line('reason', `paused: ${c.pause_reason}`) : ''}
${by ? line('settings by', `${DID[by.action] ?? by.action} by ${by.actor} at ${shortTime(by.at)}`) : ''}
${line('label', `${fmt(settled)} of ${fmt(c.total)} done (${pct(settled, c.total).toFixed(1)}%)`)}
${bar(progress, c.total)}${legend(progress)}
${c.skipped > 0 ? line('note', `skipped: ${breakdown(c.skipped_by, ' ')}`) : ''}
${c.parked > 0 ? line('note', `${fmt(c.parked)} parked while paused (holding no lane)`) : ''}
${c.rejected ? line('note', `rejected at enqueue: ${fmt(c.rejected)}`) : ''}
${line('timing', campaignTiming(c, now).join(' · '))}
${d.sent > 0 ? `${line('label', `delivery of the ${fmt(d.sent)} sent`)}\n${bar(funnelBar, d.sent)}${legend(funnel)}` : ''}
${c.dead > 0 ? line('codes', `dead letters: ${codes(c.dead_by_code, 'no answer')}`) : ''}
${d.failed > 0 ? line('codes', `delivery failures: ${codes(c.delivery_failed_by_code, 'no code')}`) : ''}
${c.cost ? line('note cost', costWords(c.cost).join(' · ')) : ''}
${links(c)}
<div class="actions">${button('pause', 'Pause', done || c.state === 'paused')}${button('resume', 'Resume', c.state !== 'paused' && c.pause_reason === null)}${button('cancel', 'Cancel', done, 'danger')}</div>
</div>`;
}

/** The page's <main>: the fleet, the senders, the campaigns. */
function main(o: CampaignsOverview, now: number, who: CampaignActors, followups: readonly Followup[] = []): string {
  const m = o.messaging_limit;
  const pill = (title: string, text: string) => `<div class="pill"><b>${esc(title)}</b>${esc(text)}</div>`;
  const senders = o.senders.map((s) => {
    const rate = `${fmt(s.rate_now)}${s.rate_now < s.rate_max ? ` (slowed from ${fmt(s.rate_max)})` : ''} / ${fmt(s.window_ms)} ms`;
    const state = s.paused ? `paused: ${s.pause_reason ?? o.pause_reason ?? ''}` : 'sending';
    const cells = [s.from, rate, fmt(Math.max(0, s.waiting - s.parked)), fmt(s.parked), state];
    return `<tr>${cells.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`;
  });
  const campaigns = o.campaigns.length
    ? o.campaigns.map((c) => card(c, now, who[c.id])).join('\n')
    : '<p class="empty">No campaigns yet: enqueue one with "wa-bulk enqueue FILE --campaign ID".</p>';
  return `<main>
<div class="fleet">${pill('sending', o.paused ? `PAUSED: ${o.pause_reason}` : 'running')}${pill('messaging limit', `${m.limit === 'unlimited' ? 'unlimited' : `${fmt(m.used)} of ${fmt(m.limit)} recipients`}${m.held ? ` · ${fmt(m.held)} held` : ''}`)}${pill('dead letters', fmt(o.dead))}${pill('campaigns', fmt(o.campaigns.length))}${pill('as of', shortTime(new Date(now).toISOString()))}</div>
<table id="senders"><thead><tr><th>sender</th><th>rate / window</th><th>waiting</th><th>parked (paused campaigns)</th><th>state</th></tr></thead><tbody>${senders.join('')}</tbody></table>
<div class="grid" id="campaigns">${campaigns}</div>
${followupsBlock(followups)}
</main>`;
}

const STYLE = `
  :root { --ink:#1f2933; --muted:#66788a; --line:#e3e8ee; --bg:#f5f7fa; --sent:#2f9e44; --dead:#e03131; --skipped:#adb5bd; --pending:#dbe4ff; --delivered:#1c7ed6; --read:#7048e8; --failed:#f76707; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink); background:var(--bg); }
  header { display:flex; align-items:center; gap:16px; padding:14px 24px; background:#fff; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  header nav a { color:var(--delivered); text-decoration:none; margin-right:12px; }
  main { padding:20px 24px; max-width:1200px; }
  .fleet { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:18px; }
  .pill { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 12px; }
  .pill b { display:block; font-size:12px; color:var(--muted); font-weight:600; text-transform:uppercase; letter-spacing:.04em; }
  .grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(360px, 1fr)); gap:16px; }
  .card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px; }
  .top { display:flex; justify-content:space-between; align-items:center; gap:8px; }
  .name { font-weight:700; font-size:16px; word-break:break-all; }
  .state { border-radius:999px; padding:2px 10px; font-size:12px; font-weight:700; text-transform:uppercase; color:#fff; }
  .state.sending { background:var(--delivered); } .state.done { background:var(--sent); } .state.paused { background:var(--failed); }
  .state.cancelled { background:#495057; } .state.scheduled { background:var(--read); }
  .settings, .timing, .note { color:var(--muted); font-size:12px; margin:6px 0; }
  .bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:var(--pending); }
  .bar span { display:block; height:100%; }
  .legend { display:flex; flex-wrap:wrap; gap:10px; font-size:12px; color:var(--muted); margin:6px 0 12px; }
  .legend i { display:inline-block; width:9px; height:9px; border-radius:2px; margin-right:4px; vertical-align:0; }
  .label { font-size:12px; font-weight:600; color:var(--muted); margin-top:4px; }
  .reason { background:#fff4e6; color:#8a4b00; border-radius:6px; padding:6px 8px; font-size:12px; margin-bottom:10px; }
  .codes { font-size:12px; color:var(--dead); margin-top:6px; }
  .links { display:flex; flex-wrap:wrap; gap:12px; font-size:12px; margin-top:10px; }
  .links a { color:var(--delivered); }
  .actions { display:flex; gap:8px; margin-top:14px; }
  button { border:1px solid var(--line); background:#fff; border-radius:6px; padding:6px 12px; cursor:pointer; font:inherit; }
  button.danger { color:#fff; background:var(--dead); border-color:var(--dead); }
  button:disabled { opacity:.4; cursor:default; }
  table { border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; margin-bottom:18px; }
  td, th { padding:6px 12px; border-bottom:1px solid var(--line); text-align:left; font-size:13px; }
  .empty, .noscript { color:var(--muted); }
  .noscript { margin:12px 24px 0; }
  header { position:sticky; top:0; z-index:1; }
  .notice { display:flex; align-items:center; gap:8px; color:var(--dead); background:#fff5f5; border:1px solid #ffc9c9; border-radius:6px; padding:4px 4px 4px 8px; margin-top:8px; font-size:12px; }
  .notice button { padding:0 6px; border:0; background:none; color:inherit; font-size:14px; }
  header .notice { margin-top:0; }${INSIDE_STYLE}`;

const SCRIPT = `
// Errors the user has not dismissed, by where they belong: 'refresh' (the header), 'campaign:ID' (its card),
// 'followup:ID' (its row), 'inside…' and 'filter' (the open campaign's panel). One stays until the action that
// caused it succeeds or the user dismisses it; each refresh of <main> draws them again where they belong.
const notices = new Map();
function notify(key, text) {
  if (text) notices.set(key, text); else notices.delete(key);
  drawNotices();
}
function noticeAnchor(key) {
  const colon = key.indexOf(':');
  const kind = colon < 0 ? key : key.slice(0, colon);
  const id = key.slice(colon + 1);
  if (kind === 'campaign') return document.getElementById('campaign-' + id)?.querySelector('.actions');
  if (kind === 'followup') return document.getElementById('followup-' + id)?.lastElementChild;
  if (kind === 'filter') return document.getElementById('inside-filter-error');
  return document.getElementById(kind.startsWith('inside') ? 'inside-error' : 'error');
}
function drawNotices() {
  for (const old of document.querySelectorAll('.notice')) old.remove();
  for (const [key, text] of notices) {
    const box = document.createElement('div');
    box.className = 'notice';
    box.dataset.notice = key;
    box.setAttribute('role', 'alert');
    const words = document.createElement('span');
    words.textContent = text;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.textContent = '×';
    dismiss.title = 'dismiss';
    dismiss.dataset.dismiss = key;
    box.append(words, dismiss);
    const anchor = noticeAnchor(key) || document.getElementById('error');
    if (anchor.classList.contains('actions')) anchor.after(box); else anchor.append(box);
  }
}
/** What the API said about a refused request: its JSON body's "error", else the HTTP status. */
async function apiError(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string') return body.error;
  } catch {}
  return res.status + ' ' + res.statusText;
}

async function refresh() {
  try {
    const res = await fetch('/campaigns', { cache: 'no-store' });
    if (!res.ok) throw new Error(await apiError(res));
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('main');
    if (fresh) document.querySelector('main').replaceWith(fresh);
    notices.delete('refresh');
    drawNotices();
  } catch (e) {
    notify('refresh', 'cannot load: ' + e.message);
  }
}

async function act(id, action) {
  if (action === 'cancel' && !confirm('Cancel campaign "' + id + '" for good? Its waiting messages will not be sent.')) return;
  try {
    const res = await fetch('/api/campaigns/' + encodeURIComponent(id) + '/' + action, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    notify('campaign:' + id, res.ok ? '' : action + ' refused: ' + (await apiError(res)));
  } catch (e) {
    notify('campaign:' + id, action + ' failed: ' + e.message);
  }
  await refresh();
}

document.addEventListener('click', (event) => {
  const dismiss = event.target.closest('button[data-dismiss]');
  if (dismiss) { notify(dismiss.dataset.dismiss, ''); return; }
  const button = event.target.closest('button[data-action]');
  if (button && !button.disabled) act(button.dataset.campaign, button.dataset.action);
});
setInterval(refresh, 2000);`;

export function campaignsPage(
  overview: CampaignsOverview,
  who: CampaignActors = {},
  now = Date.now(),
  followups: readonly Followup[] = [],
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${dropUrlCredentials}
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<title>wa-bulk · campaigns</title>
<style>${STYLE}
</style>
</head>
<body>
<header><h1>wa-bulk · campaigns</h1><nav><a href="/queues">Bull Board</a><a href="/metrics">metrics</a></nav><div id="error"></div></header>
<noscript><p class="noscript">Without JavaScript this page reloads every 10 s and its buttons do nothing: use "wa-bulk pause|resume|cancel --campaign ID".</p></noscript>
${main(overview, now, who, followups)}
${INSIDE_SECTION}
<script>${SCRIPT}${INSIDE_SCRIPT}
</script>
<script>${FOLLOWUPS_SCRIPT}
</script>
</body>
</html>`;
}
