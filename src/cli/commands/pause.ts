import { Campaigns } from '../../campaigns/campaigns.js';
import { pauseLane, resumeLane } from '../../lanes/lanes.js';
import { pauseSending, resumeSending } from '../../lanes/fleet.js';
import { normalisePhone } from '../../messages/phone.js';
import { campaignId, noCampaign } from '../../messages/ids.js';
import { UsageError, parse } from '../args.js';
import { withContext } from '../context.js';

/** `wa-bulk pause|resume [--sender NUMBER | --campaign ID] [--reason TEXT]`: the fleet, one lane, or one campaign. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parse(
    rest,
    { reason: { type: 'string' }, sender: { type: 'string' }, campaign: { type: 'string' } },
    false,
  );
  if (values.sender !== undefined && values.campaign !== undefined)
    throw new UsageError('--sender and --campaign: give one of them');
  const lane =
    values.sender === undefined ? undefined : values.sender === 'default' ? 'default' : normalisePhone(values.sender);
  if (values.sender !== undefined && lane === undefined)
    throw new UsageError(`--sender: expected an international phone number (or "default"), got "${values.sender}"`);
  const campaign = values.campaign === undefined ? undefined : campaignId(values.campaign, '--campaign');
  const reason = values.reason ?? 'paused by an operator';
  const pausing = command === 'pause';
  const message = await withContext(async (ctx) => {
    if (lane !== undefined) {
      if (pausing) await pauseLane(ctx.redis, ctx.keys, lane, reason);
      else await resumeLane(ctx.redis, ctx.keys, lane);
      return pausing ? `sending paused for sender ${lane}` : `sending resumed for sender ${lane}`;
    }
    if (campaign !== undefined) {
      const campaigns = new Campaigns(ctx.redis, ctx.keys);
      if (!(await ctx.ledger.campaign(campaign))) return undefined;
      if (pausing) {
        await campaigns.pause(campaign, reason);
        return `campaign ${campaign} paused`;
      }
      const promoted = await campaigns.resume(campaign);
      return `campaign ${campaign} resumed (${promoted} parked message(s) back in their queues)`;
    }
    if (pausing) await pauseSending(ctx.redis, ctx.keys, reason);
    else await resumeSending(ctx.redis, ctx.keys);
    return pausing ? 'sending paused for all workers' : 'sending resumed';
  });
  if (message === undefined) {
    process.stderr.write(`wa-bulk: ${noCampaign(String(campaign), '"wa-bulk campaigns"')}\n`);
    return 1;
  }
  process.stdout.write(`${message}\n`);
  return 0;
}
