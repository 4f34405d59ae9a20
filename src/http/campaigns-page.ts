/**
 * The campaigns page (/campaigns): every campaign at a glance, its state, settings, progress, delivery
 * funnel and dead letters by code, with pause, resume and cancel; the fleet's senders and messaging limit
 * above them. A static page that reads /api/campaigns every two seconds (same origin, the same Basic auth
 * as the rest of the dashboard) and posts its actions as JSON. Everything shown is set as text, never as
 * HTML, so a campaign's pause reason cannot inject markup.
 */
export function campaignsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wa-bulk · campaigns</title>
<style>
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
  .settings { color:var(--muted); font-size:12px; margin:6px 0 10px; }
  .bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:var(--pending); }
  .bar span { display:block; height:100%; }
  .legend { display:flex; flex-wrap:wrap; gap:10px; font-size:12px; color:var(--muted); margin:6px 0 12px; }
  .legend i { display:inline-block; width:9px; height:9px; border-radius:2px; margin-right:4px; vertical-align:0; }
  .label { font-size:12px; font-weight:600; color:var(--muted); margin-top:4px; }
  .reason { background:#fff4e6; color:#8a4b00; border-radius:6px; padding:6px 8px; font-size:12px; margin-bottom:10px; }
  .codes { font-size:12px; color:var(--dead); margin-top:8px; }
  .actions { display:flex; gap:8px; margin-top:14px; }
  button { border:1px solid var(--line); background:#fff; border-radius:6px; padding:6px 12px; cursor:pointer; font:inherit; }
  button.danger { color:#fff; background:var(--dead); border-color:var(--dead); }
  button:disabled { opacity:.4; cursor:default; }
  table { border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; margin-bottom:18px; }
  td, th { padding:6px 12px; border-bottom:1px solid var(--line); text-align:left; font-size:13px; }
  .empty { color:var(--muted); }
  #error { color:var(--dead); }
</style>
</head>
<body>
<header><h1>wa-bulk · campaigns</h1><nav><a href="/queues">Bull Board</a><a href="/metrics">metrics</a></nav><span id="error"></span></header>
<main>
  <div class="fleet" id="fleet"></div>
  <table id="senders"><thead><tr><th>sender</th><th>rate / window</th><th>waiting</th><th>state</th></tr></thead><tbody></tbody></table>
  <div class="grid" id="campaigns"></div>
</main>
<script>
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (k === 'class') node.className = v; else if (k === 'style') node.setAttribute('style', v); else node[k] = v;
  for (const child of children) node.append(child);
  return node;
};
const fmt = (n) => Number(n).toLocaleString('en-US');
const pct = (n, total) => (total > 0 ? (100 * n) / total : 0);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

function bar(parts, total) {
  const b = el('div', { class: 'bar' });
  for (const [n, color, title] of parts) if (n > 0) b.append(el('span', { style: 'width:' + pct(n, total) + '%;background:' + color, title: title + ': ' + fmt(n) }));
  return b;
}
function legend(parts) {
  return el('div', { class: 'legend' }, ...parts.map(([n, color, title]) => el('span', {}, el('i', { style: 'background:' + color }), title + ' ' + fmt(n))));
}

async function act(id, action) {
  if (action === 'cancel' && !confirm('Cancel campaign "' + id + '" for good? Its waiting messages will not be sent.')) return;
  const res = await fetch('/api/campaigns/' + encodeURIComponent(id) + '/' + action, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (!res.ok) document.getElementById('error').textContent = (await res.json()).error || res.statusText;
  await refresh();
}

const DID = { 'campaign.pause': 'paused', 'campaign.resume': 'resumed', 'campaign.cancel': 'cancelled' };
const clock = (at) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function card(c, by) {
  const done = c.state === 'done' || c.state === 'cancelled';
  const progress = [[c.sent, 'var(--sent)', 'sent'], [c.dead, 'var(--dead)', 'dead'], [c.skipped, 'var(--skipped)', 'skipped'], [c.pending, 'var(--pending)', 'pending']];
  const d = c.delivery;
  const funnel = [[d.read, 'var(--read)', 'read'], [d.delivered - d.read, 'var(--delivered)', 'delivered'], [d.failed, 'var(--failed)', 'failed'], [Math.max(0, d.sent - d.delivered - d.failed), 'var(--pending)', 'no report yet']];
  const settings = [c.priority + ' priority', c.at ? 'starts ' + when(c.at) : '', c.send_window ? 'window ' + c.send_window + ' local' : '', c.expires_at ? 'expires ' + when(c.expires_at) : '', 'last enqueue ' + when(c.enqueued_at), c.archived ? 'from the long-term ledger' : ''].filter(Boolean).join(' · ');
  const codes = Object.entries(c.dead_by_code || {});
  return el('div', { class: 'card', id: 'campaign-' + c.id },
    el('div', { class: 'top' }, el('span', { class: 'name' }, c.id), el('span', { class: 'state ' + c.state }, c.state)),
    el('div', { class: 'settings' }, settings),
    ...(c.pause_reason ? [el('div', { class: 'reason' }, 'paused: ' + c.pause_reason)] : []),
    ...(by ? [el('div', { class: 'settings by' }, DID[by.action] + ' by ' + by.actor + ' at ' + clock(by.at))] : []),
    el('div', { class: 'label' }, fmt(c.sent + c.dead + c.skipped) + ' of ' + fmt(c.total) + ' done (' + pct(c.sent + c.dead + c.skipped, c.total).toFixed(1) + '%)'),
    bar(progress, c.total), legend(progress),
    el('div', { class: 'label' }, 'delivery of the ' + fmt(d.sent) + ' sent'),
    bar(funnel, d.sent), legend(funnel),
    ...(codes.length ? [el('div', { class: 'codes' }, 'dead letters: ' + codes.map(([code, n]) => (code === 'none' ? 'no answer' : code) + ' × ' + fmt(n)).join(', '))] : []),
    el('div', { class: 'actions' },
      el('button', { textContent: 'Pause', disabled: done || c.state === 'paused', onclick: () => act(c.id, 'pause') }),
      el('button', { textContent: 'Resume', disabled: c.state !== 'paused', onclick: () => act(c.id, 'resume') }),
      el('button', { class: 'danger', textContent: 'Cancel', disabled: done, onclick: () => act(c.id, 'cancel') })));
}

async function refresh() {
  try {
    const res = await fetch('/api/campaigns', { cache: 'no-store' });
    if (!res.ok) throw new Error((await res.json()).error || res.statusText);
    const data = await res.json();
    // Who last paused, resumed or cancelled each campaign (the audit log); the page works without it.
    const who = await fetch('/api/audit/campaigns', { cache: 'no-store' }).then((r) => (r.ok ? r.json() : {}), () => ({}));
    document.getElementById('error').textContent = '';
    const m = data.messaging_limit;
    document.getElementById('fleet').replaceChildren(
      el('div', { class: 'pill' }, el('b', {}, 'sending'), data.paused ? 'PAUSED: ' + data.pause_reason : 'running'),
      el('div', { class: 'pill' }, el('b', {}, 'messaging limit'), (m.limit === 'unlimited' ? 'unlimited' : fmt(m.used) + ' of ' + fmt(m.limit) + ' recipients') + (m.held ? ' · ' + fmt(m.held) + ' held' : '')),
      el('div', { class: 'pill' }, el('b', {}, 'dead letters'), fmt(data.dead)),
      el('div', { class: 'pill' }, el('b', {}, 'campaigns'), fmt(data.campaigns.length)));
    document.querySelector('#senders tbody').replaceChildren(...data.senders.map((s) =>
      el('tr', {}, el('td', {}, s.from), el('td', {}, fmt(s.rate_now) + (s.rate_now < s.rate_max ? ' (slowed from ' + fmt(s.rate_max) + ')' : '')), el('td', {}, fmt(s.waiting)), el('td', {}, s.paused ? 'paused: ' + (s.pause_reason || data.pause_reason || '') : 'sending'))));
    const grid = document.getElementById('campaigns');
    grid.replaceChildren(...(data.campaigns.length ? data.campaigns.map((c) => card(c, (who.campaigns || {})[c.id])) : [el('p', { class: 'empty' }, 'No campaigns yet: enqueue one with "wa-bulk enqueue FILE --campaign ID".')]));
  } catch (error) {
    document.getElementById('error').textContent = 'cannot load: ' + error.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>`;
}
