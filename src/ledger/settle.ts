import type { DeadError } from '../queue.js';
import * as scripts from '../scripts/index.js';
import { SKIP_WORDS, type SkipReason } from './reasons.js';
import type { MessageRecord } from './records.js';
import { messageIdEntry, type LedgerScope } from './scope.js';

/**
 * The send path's writes: how a message's request ended (sent, dead, skipped), through settle-messages.lua,
 * and what a status callback teaches about a request whose answer was lost (learn-message-id.lua).
 */

export type SentOutcome = 'changed' | 'unchanged' | 'orphans';
const SENT_OUTCOME: Readonly<Record<scripts.SettleVerdict, SentOutcome>> = {
  [scripts.SettleVerdict.Unchanged]: 'unchanged',
  [scripts.SettleVerdict.Changed]: 'changed',
  [scripts.SettleVerdict.OrphansWaiting]: 'orphans',
};

/** A markSent waiting for its turn's settle script. */
interface PendingSent extends scripts.SettleMessage {
  resolve(outcome: SentOutcome): void;
  reject(error: Error): void;
}

/**
 * Marks messages sent. Calls made in the same turn of the event loop share one script call (one round trip,
 * one script run in Redis).
 */
export class SentBatch {
  private pending: PendingSent[] = [];

  constructor(private readonly scope: LedgerScope) {}

  /** Returns 'orphans' when delivery callbacks for this message_id arrived first (apply them now). */
  markSent(requestId: string, campaign: string, messageId: string): Promise<SentOutcome> {
    const k = this.scope.keys;
    return new Promise((resolve, reject) => {
      this.pending.push({
        messageKey: k.message(requestId),
        campaignKey: k.campaign(campaign),
        messageIdKey: k.messageId(messageId),
        orphanKey: k.orphan(messageId),
        minutesKey: k.campaignMinutes(campaign),
        status: 'sent',
        now: Date.now(),
        ttlSeconds: this.scope.settledTtlSeconds,
        messageIdEntry: messageIdEntry(campaign, requestId),
        messageId,
        code: '',
        httpStatus: '',
        reason: '',
        error: '',
        resolve,
        reject,
      });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const { client, keys, idFrom } = this.scope;
    scripts
      .settleMessages(client, { keys: { archive: keys.archive, orphans: keys.orphans }, idFrom, messages: batch })
      .then(
        (verdicts) => {
          for (let i = 0; i < batch.length; i++)
            batch[i]?.resolve(SENT_OUTCOME[verdicts[i] ?? scripts.SettleVerdict.Unchanged]);
        },
        (error: Error) => {
          for (const item of batch) item.reject(error);
        },
      );
  }
}

/** The message will not be sent (no session, its campaign cancelled, …): no request is made for it. */
export function markSkipped(
  scope: LedgerScope,
  requestId: string,
  campaign: string,
  reason: SkipReason,
): Promise<boolean> {
  return settleOne(scope, requestId, campaign, 'skipped', {
    code: null,
    http_status: null,
    reason,
    message: SKIP_WORDS[reason],
  });
}

/** Settles one message as dead or skipped; whether its record changed. */
export async function settleOne(
  scope: LedgerScope,
  requestId: string,
  campaign: string,
  status: 'dead' | 'skipped',
  why: Omit<DeadError, 'reason'> & { reason: string },
): Promise<boolean> {
  const k = scope.keys;
  const [verdict] = await scripts.settleMessages(scope.client, {
    keys: { archive: k.archive, orphans: k.orphans },
    idFrom: scope.idFrom,
    messages: [
      {
        messageKey: k.message(requestId),
        campaignKey: k.campaign(campaign),
        messageIdKey: k.messageId('-'),
        orphanKey: k.orphan('-'),
        minutesKey: k.campaignMinutes(campaign),
        status,
        now: Date.now(),
        // A dead message stays as long as its dead letter (RESULT_TTL_DAYS), so that `dlq replay` can revive it.
        ttlSeconds: status === 'dead' ? scope.ttlSeconds : scope.settledTtlSeconds,
        messageIdEntry: '',
        messageId: '',
        code: why.code ?? '',
        httpStatus: why.http_status ?? '',
        reason: why.reason,
        error: why.message.slice(0, 1000),
      },
    ],
  });
  return verdict === scripts.SettleVerdict.Changed;
}

/** After an answer that proves the request was not accepted (a 5xx, a refused connection). */
export async function clearInflight(scope: LedgerScope, requestId: string): Promise<void> {
  await scope.client.hdel(scope.keys.message(requestId), 'inflight');
}

/**
 * A status callback reported `messageId` for this request_id (its custom_args carry REQUEST_ID_ARG) and the
 * ledger does not know that message_id. When wa-bulk never learned how the message's request ended (`record`
 * dead with reason unknown_outcome, or pending after a request was granted), it is recorded as sent with that
 * message_id, in one script (learn-message-id.lua). Returns its campaign, the status it had before and
 * whether delivery rows wait for the message_id; undefined when the message is left as it is.
 */
export async function learnMessageId(
  scope: LedgerScope,
  requestId: string,
  record: MessageRecord | undefined,
  messageId: string,
): Promise<{ campaign: string; previous: 'pending' | 'dead'; orphans: boolean } | undefined> {
  if (record?.status !== 'pending' && record?.status !== 'dead') return undefined;
  const { campaign } = record;
  const k = scope.keys;
  const { verdict, previous } = await scripts.learnMessageId(scope.client, {
    keys: {
      message: k.message(requestId),
      campaign: k.campaign(campaign),
      messageIdKey: k.messageId(messageId),
      orphanKey: k.orphan(messageId),
      archive: k.archive,
      minutes: k.campaignMinutes(campaign),
    },
    campaign,
    messageId,
    messageIdEntry: messageIdEntry(campaign, requestId),
    now: Date.now(),
    ttlSeconds: scope.settledTtlSeconds,
    idFrom: scope.idFrom,
  });
  if (verdict === scripts.LearnVerdict.Left) return undefined;
  return {
    campaign,
    previous: previous as 'pending' | 'dead',
    orphans: verdict === scripts.LearnVerdict.OrphansWaiting,
  };
}
