import { setTimeout as sleep } from 'node:timers/promises';
import { collectStatus } from '../../status.js';
import { parse } from '../args.js';
import { withContext } from '../context.js';
import { ProgressLine, bar, fmt } from '../progress.js';

/** A live progress bar until the campaign has nothing pending (or, without --campaign, the queue is empty). */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { campaign: { type: 'string' }, 'interval-ms': { type: 'string' } }, false);
  const intervalMs = Number(values['interval-ms'] ?? 500);
  const progress = new ProgressLine(process.stderr, true);
  return withContext(async (ctx) => {
    for (;;) {
      const r = await collectStatus(ctx, values.campaign);
      const c = r.campaign;
      const state = r.paused ? `  PAUSED: ${r.pause_reason}` : r.gate ? `  held back: ${r.gate.reason}` : '';
      if (c) {
        const done = c.sent + c.dead;
        progress.update(`${bar(c.total ? done / c.total : 0)} ${fmt(c.sent)} sent  ${fmt(c.dead)} dead  ${fmt(c.pending)} pending${state}`, true);
        if (c.total > 0 && c.pending === 0) break;
      } else {
        const q = r.queue;
        progress.update(`waiting ${fmt(q.waiting)}  active ${fmt(q.active)}  delayed ${fmt(q.delayed)}  dead ${fmt(r.dead)}${state}`, true);
        if (q.waiting + q.active + q.delayed === 0) break;
      }
      await sleep(intervalMs);
    }
    progress.done();
    return 0;
  });
}
