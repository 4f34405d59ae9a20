import type { CostEstimate } from '../preflight/cost.js';
import { ESTIMATE_FIELD, TEMPLATES_PREFIX } from './campaign-cost.js';
import type { LedgerScope } from './scope.js';

/**
 * The ledger's notes written from TypeScript rather than by a script: fields beside a record or a campaign that
 * no status transition depends on (templates in use, traces, replies, a campaign's template counts and cost
 * estimate, the open campaigns). Each is one round trip.
 */

/** Remembers the templates being sent, so a template_update notification knows whether it matters. */
export async function noteTemplates(
  scope: LedgerScope,
  bodies: ReadonlyArray<{ type: string; template?: { name: string; language: string } }>,
): Promise<void> {
  const names = new Set<string>();
  for (const body of bodies)
    if (body.type === 'template' && body.template)
      names.add(body.template.name).add(`${body.template.name}:${body.template.language}`);
  if (names.size === 0) return;
  await scope.client
    .multi()
    .sadd(scope.keys.templates, ...names)
    .expire(scope.keys.templates, scope.ttlSeconds)
    .exec();
}

/**
 * While tracing is on: the traceparent of each message's `create` span, kept in its record (field `trace`,
 * 55 bytes) so that a delivery callback can link to the message's trace. Only for records the enqueue has
 * just written, which exist.
 */
export async function noteTraces(
  scope: LedgerScope,
  traces: ReadonlyArray<{ requestId: string; traceparent: string }>,
): Promise<void> {
  if (traces.length === 0) return;
  const pipeline = scope.client.pipeline();
  for (const { requestId, traceparent } of traces) pipeline.hset(scope.keys.message(requestId), 'trace', traceparent);
  await pipeline.exec();
}

/**
 * The recipient answered this message (an inbound message quoting it): its first answer's time, field
 * `replied_at` (epoch ms), set once. Only on a record Redis still holds, so no key is made without its expiry.
 */
export async function noteReply(scope: LedgerScope, requestId: string, at: number): Promise<void> {
  const key = scope.keys.message(requestId);
  if ((await scope.client.exists(key)) === 1) await scope.client.hsetnx(key, 'replied_at', String(at));
}

/**
 * After an enqueue wrote new messages: counts its template messages by country and category in the campaign's
 * hash (`counts`: '<country>:<category>' → n; see ./campaign-cost.ts), and gives the campaign's per-minute
 * hash its expiry now, so that the scripts' HINCRBYs on it (settle-messages.lua, includes/delivery.lua) keep
 * it: a field `since` makes the key exist. One round trip a chunk.
 */
export async function noteEnqueued(
  scope: LedgerScope,
  campaign: string,
  counts: ReadonlyMap<string, number>,
): Promise<void> {
  const minutes = scope.keys.campaignMinutes(campaign);
  const tx = scope.client.multi().hsetnx(minutes, 'since', Date.now()).expire(minutes, scope.ttlSeconds);
  for (const [field, n] of counts) tx.hincrby(scope.keys.campaign(campaign), `${TEMPLATES_PREFIX}${field}`, n);
  await tx.exec();
}

/** The campaign's cost estimate (from RATE_CARD_FILE), kept on its hash until the next enqueue replaces it. */
export async function noteCostEstimate(scope: LedgerScope, campaign: string, estimate: CostEstimate): Promise<void> {
  await scope.client.hset(scope.keys.campaign(campaign), ESTIMATE_FIELD, JSON.stringify(estimate));
}

/** A campaign that has messages to send: watched until it is done (src/campaigns/watch.ts). */
export async function noteOpen(scope: LedgerScope, campaign: string): Promise<void> {
  await scope.client.sadd(scope.keys.campaignsOpen, campaign);
}
