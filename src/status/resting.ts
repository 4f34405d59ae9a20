import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { CampaignCounts, Ledger } from '../ledger/ledger.js';
import type { Keys } from '../redis/keys.js';

/**
 * Pending messages that wait out their recipient's marketing rest (MARKETING_REST after Meta's 131049,
 * src/recipients/fatigue.ts): a campaign cannot finish before the last of those rests ends, whatever its send
 * rate says, so its ETA is moved to that time at least, and `resting` says why.
 *
 * Cost: one PTTL per status or page refresh while nobody rests (the usual case); while someone does, for each
 * sending campaign with template messages, its message list read (the records' status and recipient) and
 * one GET per pending recipient, RESTING_LOOKED_AT_MOST records at most.
 */

/** The campaign's records looked at most for resting recipients; beyond, `resting.messages` is a lower bound. */
export const RESTING_LOOKED_AT_MOST = 2000;

export interface Resting {
  /** Pending messages to recipients that rest now (of the first RESTING_LOOKED_AT_MOST records looked at). */
  messages: number;
  /** When the last of their rests ends (ISO 8601). */
  until: string;
  /** True when the campaign has more records than were looked at. */
  partial: boolean;
}

export type CampaignWithRest = CampaignCounts & { resting?: Resting };

interface RestSources {
  config: Pick<Config, 'MARKETING_REST'>;
  redis: Redis;
  keys: Keys;
  ledger: Ledger;
}

/** The campaigns, each that has pending messages waiting out a rest with `resting` and an ETA no sooner. */
export async function withRests<C extends CampaignCounts>(
  src: RestSources,
  campaigns: C[],
  now = Date.now(),
): Promise<Array<C & { resting?: Resting }>> {
  if (src.config.MARKETING_REST <= 0) return campaigns;
  const concerned = campaigns.some(mayRest);
  if (!concerned || (await src.redis.pttl(src.keys.marketingRests)) <= 0) return campaigns;
  const out: Array<C & { resting?: Resting }> = [];
  for (const c of campaigns) {
    const resting = mayRest(c) ? await restingOf(src, c, now) : undefined;
    if (!resting) {
      out.push(c);
      continue;
    }
    const eta = c.eta && Date.parse(c.eta) > Date.parse(resting.until) ? c.eta : resting.until;
    out.push({ ...c, eta, resting });
  }
  return out;
}

/** Only template messages wait for a rest, and only a campaign still sending has any waiting. */
const mayRest = (c: CampaignCounts) => c.state === 'sending' && c.pending > 0 && (c.cost?.templates.messages ?? 0) > 0;

async function restingOf(src: RestSources, campaign: CampaignCounts, now: number): Promise<Resting | undefined> {
  let messages = 0;
  let until = 0;
  for await (const page of src.ledger.pendingMessages(campaign.id, 500, RESTING_LOOKED_AT_MOST)) {
    const ends = await src.redis.mget(...page.map((p) => src.keys.marketingRest(p.to)));
    for (const end of ends) {
      const ms = Number(end);
      if (end !== null && ms > now) {
        messages++;
        until = Math.max(until, ms);
      }
    }
  }
  const partial = campaign.total > RESTING_LOOKED_AT_MOST;
  return messages > 0 ? { messages, until: new Date(until).toISOString(), partial } : undefined;
}
