import { Campaigns, pauseRefusal } from '../../campaigns/campaigns.js';
import { knownLanes, pauseLane, resumeLane } from '../../lanes/lanes.js';
import { pauseSending, resumeSending } from '../../lanes/fleet.js';
import { normalisePhone } from '../../messages/phone.js';
import { noCampaign } from '../../messages/ids.js';
import { UsageError, parse } from '../args.js';
import { withContext } from '../context.js';
import { PAUSE } from './pause.decl.js';
import { cliActor } from '../../access/audit.js';

/** `wa-bulk pause [--sender NUMBER | --campaign ID] [--reason TEXT]`: the fleet, one lane, or one campaign. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(PAUSE, argv);
  return control(values, { reason: values.reason });
}

/** What pause and resume act on: one sender's lane, one campaign, or (given neither) the whole fleet. */
export interface Target {
  sender: string | undefined;
  campaign: string | undefined;
}

/** Pauses the target, or without `pause` resumes it (resume.ts). */
export async function control(target: Target, pause?: { reason: string }): Promise<number> {
  if (target.sender !== undefined && target.campaign !== undefined)
    throw new UsageError('--sender and --campaign: give one of them');
  const lane =
    target.sender === undefined ? undefined : target.sender === 'default' ? 'default' : normalisePhone(target.sender);
  if (target.sender !== undefined && lane === undefined)
    throw new UsageError(`--sender: expected an international phone number (or "default"), got "${target.sender}"`);
  const campaign = target.campaign;
  const message = await withContext(async (ctx) => {
    if (lane !== undefined) {
      const known = await knownLanes(ctx.redis, ctx.keys, ctx.config);
      if (!known.includes(lane))
        return new Error(
          `--sender: no sender lane "${lane}" (no message was ever sent from it and SENDER_RATES does not name it); known lanes: ${known.join(', ')}`,
        );
      if (pause) await pauseLane(ctx.redis, ctx.keys, lane, pause.reason, cliActor());
      else await resumeLane(ctx.redis, ctx.keys, lane, cliActor());
      return pause ? `sending paused for sender ${lane}` : `sending resumed for sender ${lane}`;
    }
    if (campaign !== undefined) {
      const campaigns = new Campaigns(ctx.redis, ctx.keys);
      const current = await ctx.ledger.campaign(campaign);
      if (!current) return undefined;
      const refusal = pause && pauseRefusal(current);
      if (refusal) return new Error(refusal.error);
      if (pause) {
        await campaigns.pause(campaign, pause.reason, cliActor());
        return `campaign ${campaign} paused`;
      }
      const promoted = await campaigns.resume(campaign, cliActor());
      return `campaign ${campaign} resumed (${promoted} parked message(s) back in their queues)`;
    }
    if (pause) await pauseSending(ctx.redis, ctx.keys, pause.reason, cliActor());
    else await resumeSending(ctx.redis, ctx.keys, cliActor());
    return pause ? 'sending paused for all workers' : 'sending resumed';
  });
  if (message === undefined || message instanceof Error) {
    const refusal = message?.message ?? noCampaign(String(campaign), '"wa-bulk campaigns"');
    process.stderr.write(`wa-bulk: ${refusal}\n`);
    return 1;
  }
  process.stdout.write(`${message}\n`);
  return 0;
}
