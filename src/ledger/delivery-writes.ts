import * as scripts from '../scripts/index.js';
import { DELIVERY_RANK, type DeliveryStatus, type DeliveryUpdate } from './delivery.js';
import type { LedgerScope } from './scope.js';

/**
 * The delivery callbacks' writes: a message's delivery state moved forward with its campaign's and the fleet's
 * funnels (apply-delivery.lua, apply-deliveries.lua), and rows for message_ids not known yet kept as orphans.
 * A message only the long-term ledger still holds is updated there.
 */

const RANKS = JSON.stringify(DELIVERY_RANK);

/** A message the ledger located. */
export interface LocatedMessage {
  requestId: string;
  campaign: string;
}

/** What applyDeliveries did with a row. */
export type DeliveriesResult = 'applied' | 'not_further' | 'no_message' | 'orphaned' | 'orphan_refused' | 'known_now';
const DELIVERIES_RESULT: Readonly<Record<scripts.DeliveriesVerdict, DeliveriesResult>> = {
  [scripts.DeliveriesVerdict.NoMessage]: 'no_message',
  [scripts.DeliveriesVerdict.NotFurther]: 'not_further',
  [scripts.DeliveriesVerdict.Applied]: 'applied',
  [scripts.DeliveriesVerdict.Orphaned]: 'orphaned',
  [scripts.DeliveriesVerdict.OrphanRefused]: 'orphan_refused',
  [scripts.DeliveriesVerdict.KnownNow]: 'known_now',
};

/** One row of a batch of delivery updates: its message when located, else only its message_id. */
export interface DeliveryRow {
  message: LocatedMessage | undefined;
  messageId: string;
  update: DeliveryUpdate;
}

/** How many orphan rows are kept, and how long (./delivery-ledger.ts sets them). */
export interface OrphanBounds {
  ttlSeconds: number;
  rows: number;
  ids: number;
}

/**
 * Moves the message's delivery forward, with its campaign's and the fleet's funnels. Returns the state it
 * had before (null for none), or undefined when the update is not further than it.
 */
export async function applyDelivery(
  scope: LedgerScope,
  message: LocatedMessage,
  u: DeliveryUpdate,
): Promise<{ previous: DeliveryStatus | null } | undefined> {
  const { client, keys: k, archive } = scope;
  const funnels = { campaign: k.campaign(message.campaign), metrics: k.metrics };
  const { verdict, previous } = await scripts.applyDelivery(client, {
    keys: {
      message: k.message(message.requestId),
      ...funnels,
      archive: k.archive,
      minutes: k.campaignMinutes(message.campaign),
    },
    update: u,
    rank: DELIVERY_RANK[u.status],
    ranks: RANKS,
    idFrom: scope.idFrom,
  });
  if (verdict === scripts.DeliveryVerdict.NoMessage && archive) {
    // A callback after the hot TTL: the record lives in PostgreSQL only.
    const applied = await archive.applyDelivery(message.requestId, u);
    if (!applied) return undefined;
    await scripts.moveFunnel(client, {
      keys: funnels,
      from: applied.previous,
      to: u.status,
      fromCode: applied.previousCode,
      toCode: u.errorCode,
      billable: scripts.billableArg(u),
    });
    return { previous: applied.previous };
  }
  return verdict === scripts.DeliveryVerdict.Applied ? { previous: previous as DeliveryStatus | null } : undefined;
}

/**
 * A batch's delivery updates in one script run (apply-deliveries.lua): each row of a located message moves it
 * forward, as applyDelivery does; a row of a message_id not known is kept as an orphan within `orphans`'
 * bounds. Per row, what happened and the state before.
 */
export async function applyDeliveries(
  scope: LedgerScope,
  rows: readonly DeliveryRow[],
  orphans: OrphanBounds,
): Promise<Array<{ result: DeliveriesResult; previous: DeliveryStatus | null }>> {
  const k = scope.keys;
  const verdicts = await scripts.applyDeliveries(scope.client, {
    keys: { metrics: k.metrics, archive: k.archive, orphans: k.orphans, anyKey: k.orphans },
    ranks: RANKS,
    idFrom: scope.idFrom,
    now: Date.now(),
    orphanTtlSeconds: orphans.ttlSeconds,
    orphanRows: orphans.rows,
    orphanIds: orphans.ids,
    rows: rows.map(({ message, messageId, update }) => ({
      message: message && {
        messageKey: k.message(message.requestId),
        campaignKey: k.campaign(message.campaign),
        minutesKey: k.campaignMinutes(message.campaign),
      },
      messageIdKey: k.messageId(messageId),
      orphanKey: k.orphan(messageId),
      messageId,
      update,
      rank: DELIVERY_RANK[update.status],
    })),
  });
  return Promise.all(
    verdicts.map(async ({ verdict, previous }, i) => {
      const row = rows[i] as DeliveryRow;
      if (verdict === scripts.DeliveriesVerdict.NoMessage && scope.archive && row.message) {
        // A callback after the hot TTL: the record lives in PostgreSQL only.
        const applied = await applyDelivery(scope, row.message, row.update);
        return { result: applied ? 'applied' : 'not_further', previous: applied?.previous ?? null } as const;
      }
      return { result: DELIVERIES_RESULT[verdict], previous: previous as DeliveryStatus | null };
    }),
  );
}
