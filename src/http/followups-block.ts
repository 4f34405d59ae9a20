import type { Followup } from '../campaigns/followups.js';
import { shortTime } from '../status/campaign-words.js';

/**
 * The campaigns page's block of follow-up rules (docs/campaigns.md#follow-ups): each rule's source, outcome
 * words, new campaign and message, its due time, its state (with what it enqueued once evaluated), and a
 * Cancel button while it is scheduled or evaluating (the server refuses one a worker is evaluating now). A block of its own, inside the page's <main> so that the page's
 * refresh swaps it too; its script posts the cancel as JSON, as the page's buttons do.
 */

/** The newest rules shown; `wa-bulk followup list` and GET /api/followups have them all. */
export const FOLLOWUPS_SHOWN = 50;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

function message(rule: Followup): string {
  const m = rule.message;
  return m.text !== undefined
    ? `text "${m.text.length > 40 ? `${m.text.slice(0, 40)}…` : m.text}"`
    : `template ${m.template} (${m.language})`;
}

/** The campaign options its messages take (enqueue's), those set: " · low priority · 09:00-21:00 · expires in 2h". */
function options(rule: Followup): string {
  const set = [
    rule.priority !== 'normal' && `${rule.priority} priority`,
    rule.send_window && `window ${rule.send_window}`,
    rule.expires_in && `expires in ${rule.expires_in}`,
    rule.expires_at && `expires ${shortTime(rule.expires_at)}`,
  ].filter((part): part is string => typeof part === 'string' && part !== '');
  return set.length === 0 ? '' : ` · ${set.join(' · ')}`;
}

function state(rule: Followup): string {
  return rule.note ? `${stateWords(rule)} (${rule.note})` : stateWords(rule);
}

function stateWords(rule: Followup): string {
  const counts = `enqueued ${rule.enqueued} · opted out ${rule.suppressed}${rule.held ? ` · held ${rule.held}` : ''}${rule.rejected ? ` · rejected ${rule.rejected}` : ''}`;
  if (rule.state === 'done') return `done ${rule.finished_at ? shortTime(rule.finished_at) : ''}: ${counts}`;
  if (rule.state === 'evaluating') return `evaluating: ${counts} so far`;
  if (rule.state === 'cancelled')
    return `cancelled${rule.cancelled_by ? ` by ${rule.cancelled_by}` : ''}${rule.cancelled_at ? ` at ${shortTime(rule.cancelled_at)}` : ''}`;
  return 'scheduled';
}

export function followupsBlock(rules: readonly Followup[]): string {
  if (rules.length === 0) return '';
  const rows = rules
    .slice(-FOLLOWUPS_SHOWN)
    .reverse()
    .map((rule) => {
      const cells = [
        `${rule.from} → ${rule.campaign}`,
        `${rule.where}${rule.after ? ` after ${rule.after}` : ''}`,
        message(rule) + options(rule),
        shortTime(rule.due_at),
        state(rule),
      ];
      const cancel =
        rule.state === 'scheduled' || rule.state === 'evaluating'
          ? `<button class="danger" data-followup="${esc(rule.id)}">Cancel</button>`
          : '';
      return `<tr id="followup-${esc(rule.id)}" class="followup ${rule.state}">${cells.map((c) => `<td>${esc(c)}</td>`).join('')}<td>${cancel}</td></tr>`;
    });
  return `<section id="followups" style="margin-top:18px"><h2 class="label">follow-ups</h2>
<table><thead><tr><th>campaigns</th><th>to whom</th><th>message</th><th>due</th><th>state</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

export const FOLLOWUPS_SCRIPT = `
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-followup]');
  if (!button || button.disabled) return;
  const id = button.dataset.followup;
  if (!confirm('Cancel follow-up ' + id + '? It will send nothing more.')) return;
  // notify, apiError and refresh are the campaigns page's (./campaigns-page.ts): the error stays by the rule's row.
  try {
    const res = await fetch('/api/followups/' + encodeURIComponent(id) + '/cancel', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    notify('followup:' + id, res.ok ? '' : 'cancel refused: ' + (await apiError(res)));
  } catch (e) {
    notify('followup:' + id, 'cancel failed: ' + e.message);
  }
  await refresh();
});`;
