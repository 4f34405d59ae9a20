import { NO_WORKER } from '../../lanes/lanes.js';
import { noCampaign } from '../../messages/ids.js';
import { breakdown, campaignTiming, costWords } from '../../status/campaign-words.js';
import { collectStatus, type StatusReport } from '../../status/status.js';
import { parse } from '../args.js';
import { STATUS } from './status.decl.js';
import { printJson, withContext } from '../context.js';
import { fmt } from '../progress.js';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(STATUS, argv);
  const report = await withContext((ctx) => collectStatus(ctx, values.campaign));
  if (values.campaign !== undefined && !report.campaign) {
    process.stderr.write(`wa-bulk: ${noCampaign(values.campaign, '"wa-bulk campaigns"')}\n`);
    return 1;
  }
  if (values.json) printJson(report);
  else process.stdout.write(render(report));
  return 0;
}

export function render(r: StatusReport): string {
  const q = r.queue;
  const lines = [
    `queue     waiting ${fmt(q.waiting)}  active ${fmt(q.active)}  delayed ${fmt(q.delayed)}  failed ${fmt(q.failed)}`,
    `sending   ${r.paused ? `PAUSED: ${r.pause_reason}` : 'running'}${r.gate ? `  (held back: ${r.gate.reason}, ${Math.ceil(r.gate.remaining_ms / 1000)} s)` : ''}`,
    `dead      ${fmt(r.dead)} in the dead-letter queue`,
  ];
  for (const lane of r.senders) {
    const rate =
      lane.rate_now < lane.rate_max ? `${fmt(lane.rate_now)} (slowed from ${fmt(lane.rate_max)})` : fmt(lane.rate_max);
    // Without a running worker the rate is this machine's configuration, which the workers may not share.
    const source = lane.rate_source === 'configuration' ? ` (${NO_WORKER})` : '';
    lines.push(
      `sender    ${lane.from.padEnd(16)} ${rate} per ${fmt(lane.window_ms)} ms${source}  waiting ${fmt(lane.waiting)}${lane.paused ? `  PAUSED: ${lane.pause_reason ?? r.pause_reason ?? 'paused'}` : ''}`,
    );
  }
  const m = r.messaging_limit;
  lines.push(
    `limit     messaging limit ${m.limit === 'unlimited' ? 'unlimited' : fmt(m.limit)}: ${fmt(m.used)} recipients in the window, ${fmt(m.held)} messages held`,
  );
  if (r.campaign) {
    const c = r.campaign;
    lines.push(
      `campaign  ${c.id}: ${c.state.toUpperCase()}${c.state === 'scheduled' && c.at ? ` for ${c.at}` : ''}${c.pause_reason ? ` (${c.pause_reason})` : ''}`,
    );
    lines.push(
      `          ${fmt(c.total)} total  ${fmt(c.sent)} sent  ${fmt(c.dead)} dead  ${fmt(c.skipped)} skipped  ${fmt(c.pending)} pending${c.rejected === null ? '' : `  ${fmt(c.rejected)} rejected at enqueue`}`,
    );
    if (c.skipped > 0) lines.push(`          skipped: ${breakdown(c.skipped_by, ' ')}`);
    const settings = [
      `${c.priority} priority`,
      c.send_window && `window ${c.send_window} local`,
      c.expires_at && `expires ${c.expires_at}`,
    ].filter(Boolean);
    lines.push(`          ${settings.join('  ')}`);
    const timing = campaignTiming(c);
    if (timing.length > 0) lines.push(`timing    ${timing.join('  ')}`);
    const d = c.delivery;
    lines.push(
      `delivery  ${fmt(d.delivered)} delivered (read included)  ${fmt(d.read)} read  ${fmt(d.failed)} failed  (of ${fmt(d.sent)} sent)`,
    );
    const codes = breakdown(c.delivery_failed_by_code);
    if (codes) lines.push(`          failed by code: ${codes}`);
    if (c.cost) lines.push(`cost      ${costWords(c.cost, true).join('  ')}`);
  }
  if (r.phone_limit) lines.push(`number    messaging limit ${r.phone_limit}`);
  if (r.archive)
    lines.push(
      `archive   ${r.archive.backlog === 0 ? 'nothing waiting for PostgreSQL' : `${fmt(r.archive.backlog)} changes waiting for PostgreSQL`}`,
    );
  return `${lines.join('\n')}\n`;
}
