import * as scripts from '../scripts/index.js';
import { SKIP_WORDS } from './reasons.js';
import type { LedgerScope } from './scope.js';

/** The writes an operator's command causes: a campaign's cancel, a message's removal, `dlq replay`. */

/**
 * A cancel's skips (cancel-messages.lua): a pending message is skipped, reason cancelled, when its job was
 * removed from its queue, or when no request has been made for it (a job a worker holds then ends at its
 * grant, without a request or a second count). Per message, whether it was skipped now.
 */
export async function skipCancelled(
  scope: LedgerScope,
  campaign: string,
  messages: ReadonlyArray<{ requestId: string; to: string; removed: boolean }>,
): Promise<boolean[]> {
  if (messages.length === 0) return [];
  const k = scope.keys;
  return scripts.cancelMessages(scope.client, {
    keys: { archive: k.archive, campaign: k.campaign(campaign) },
    idFrom: scope.idFrom,
    now: Date.now(),
    ttlSeconds: scope.settledTtlSeconds,
    reason: 'cancelled',
    error: SKIP_WORDS.cancelled,
    messages: messages.map((m) => ({
      requestId: m.requestId,
      messageKey: k.message(m.requestId),
      sent: k.marketingSent(m.to),
      removed: m.removed,
    })),
  });
}

/**
 * An operator's removal of one pending message (remove-message.lua): skipped, reason `removed`, when no
 * request has been made for it, or, with `jobRemoved`, when its job was taken out of its queue. The
 * verdict says what stopped it otherwise.
 */
export async function skipRemoved(
  scope: LedgerScope,
  requestId: string,
  to: string,
  campaign: string,
  jobRemoved: boolean,
): Promise<scripts.RemoveVerdict> {
  const k = scope.keys;
  return scripts.removeMessage(scope.client, {
    keys: {
      archive: k.archive,
      campaign: k.campaign(campaign),
      message: k.message(requestId),
      sent: k.marketingSent(to),
    },
    requestId,
    idFrom: scope.idFrom,
    now: Date.now(),
    ttlSeconds: scope.settledTtlSeconds,
    reason: 'removed',
    error: SKIP_WORDS.removed,
    removed: jobRemoved,
  });
}

/** dead → pending, for `dlq replay`. */
export async function revive(scope: LedgerScope, requestId: string, campaign: string): Promise<boolean> {
  const k = scope.keys;
  return scripts.reviveMessage(scope.client, {
    keys: { message: k.message(requestId), campaign: k.campaign(campaign), archive: k.archive },
    now: Date.now(),
    ttlSeconds: scope.ttlSeconds,
    idFrom: scope.idFrom,
  });
}
