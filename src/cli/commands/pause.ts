import { Campaigns } from '../../campaigns/campaigns.js';
import { pauseLane, pauseSending, resumeLane, resumeSending } from '../../lanes/pause.js';
import { normalisePhone } from '../../messages/phone.js';
import { CAMPAIGN_ID } from '../../messages/ids.js';
import { UsageError, parse } from '../args.js';
import { withContext } from '../context.js';

/** `wa-bulk pause|resume [--sender NUMBER | --campaign ID] [--reason TEXT]`: the fleet, one lane, or one campaign. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parse(rest, { reason: { type: 'string' }, sender: { type: 'string' }, campaign: { type: 'string' } }, false);
  if (values.sender !== undefined && values.campaign !== undefined) throw new UsageError('--sender and --campaign: give one of them');
  const lane = values.sender === undefined ? undefined : (values.sender === 'default' ? 'default' : normalisePhone(values.sender));
  if (values.sender !== undefined && lane === undefined) throw new UsageError(`--sender: expected an international phone number (or "default"), got "${values.sender}"`);
  if (values.campaign !== undefined && !CAMPAIGN_ID.test(values.campaign)) throw new UsageError('--campaign: expected 1-64 letters, digits, "_" or "-"');
  const reason = values.reason ?? 'paused by an operator';
  const pausing = command === 'pause';
  const message = await withContext(async (ctx) => {
    if (lane !== undefined) {
      if (pausing) await pauseLane(ctx.redis, ctx.keys, lane, reason);
      else await resumeLane(ctx.redis, ctx.keys, lane);
      return pausing ? `sending paused for sender ${lane}` : `sending resumed for sender ${lane}`;
    }
    if (values.campaign !== undefined) {
      const campaigns = new Campaigns(ctx.redis, ctx.keys);
      if (!(await ctx.ledger.campaign(values.campaign))) return undefined;
      if (pausing) {
        await campaigns.pause(values.campaign, reason);
        return `campaign ${values.campaign} paused`;
      }
      const promoted = await campaigns.resume(values.campaign);
      return `campaign ${values.campaign} resumed (${promoted} parked message(s) back in their queues)`;
    }
    if (pausing) await pauseSending(ctx.redis, ctx.keys, reason);
    else await resumeSending(ctx.redis, ctx.keys);
    return pausing ? 'sending paused for all workers' : 'sending resumed';
  });
  if (message === undefined) {
    process.stderr.write(`wa-bulk: no campaign "${values.campaign}" (unknown, or older than RESULT_TTL_DAYS; "wa-bulk campaigns" lists them)\n`);
    return 1;
  }
  process.stdout.write(`${message}\n`);
  return 0;
}
