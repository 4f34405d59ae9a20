import { noCampaign } from '../../messages/ids.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectStatus } from '../../status/status.js';
import { parse } from '../args.js';
import { WATCH } from './watch.decl.js';
import { withContext } from '../context.js';
import { ProgressLine, bar, fmt, progressMode } from '../progress.js';

/**
 * Live progress until the campaign has nothing pending (or, without --campaign, the queue is empty): a bar
 * on a terminal, a plain line every few seconds when stderr is a file or a pipe.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(WATCH, argv);
  const intervalMs = values['interval-ms'];
  const progress = new ProgressLine(process.stderr, progressMode(process.stderr, 'lines'), Math.max(intervalMs, 5000));
  return withContext(async (ctx) => {
    for (let first = true; ; first = false) {
      const r = await collectStatus(ctx, values.campaign);
      const c = r.campaign;
      const state = r.paused ? `  PAUSED: ${r.pause_reason}` : r.gate ? `  held back: ${r.gate.reason}` : '';
      if (values.campaign !== undefined) {
        if (!c) {
          process.stderr.write(`wa-bulk: ${noCampaign(values.campaign, '"wa-bulk campaigns"')}\n`);
          return 1;
        }
        const done = c.sent + c.dead + c.skipped;
        progress.update(
          `${bar(c.total ? done / c.total : 0)} ${fmt(c.sent)} sent  ${fmt(c.dead)} dead  ${fmt(c.pending)} pending${state}`,
          first,
        );
        if (c.pending === 0) break;
      } else {
        const q = r.queue;
        progress.update(
          `waiting ${fmt(q.waiting)}  active ${fmt(q.active)}  delayed ${fmt(q.delayed)}  dead ${fmt(r.dead)}${state}`,
          first,
        );
        if (q.waiting + q.active + q.delayed === 0) break;
      }
      await sleep(intervalMs);
    }
    progress.done();
    return 0;
  });
}
