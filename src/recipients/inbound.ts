import type { Redis } from 'ioredis';
import type { AuditLog } from '../access/audit.js';
import type { Config } from '../config.js';
import type { CallbackRow } from '../engagelab/callbacks.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { maskUser, parseUser } from '../messages/identity.js';
import type { Keys } from '../redis/keys.js';
import { UserLinks } from './links.js';
import { Suppressions } from './suppressions.js';
import { execWithEvent } from '../events/feed.js';
import { plausibleItime } from '../engagelab/callback-rows.js';

/** What of a reply's text its message.replied event carries. */
const REPLY_TEXT_CHARS = 4096;
/** WhatsApp's customer-service window: 24 hours after the user last wrote. */
const SESSION_MS = 24 * 3600 * 1000;

/**
 * What an inbound row did: `session` a window opened, `opt_out` its user suppressed, `linked` a number and a
 * business-scoped user id learned to be one user, `reply` the row answered a message wa-bulk sent.
 */
export type InboundEffect = 'session' | 'opt_out' | 'linked' | 'reply';

/** The fleet counter (status/fleet-stats.ts) of each effect. */
export const INBOUND_COUNTER: Readonly<Record<InboundEffect, string>> = {
  session: 'sessions_opened',
  opt_out: 'opt_outs',
  linked: 'users_linked',
  reply: 'replies_attributed',
};

/** The user a row names: a number, a business-scoped user id, or both. */
export interface RowUser {
  phone?: string;
  id?: string;
}

/**
 * The user of a row: on an inbound (response) row `from` and the ids Meta names `user_id` and `from_user_id`;
 * on a status row `to` and `user_id`, `recipient_user_id`. EngageLab does not document how it passes Meta's
 * business-scoped user ids, so a party field may hold one (as when a user shows no number) and an id field
 * may come beside a number. A regular id wins over a parent (`CC.ENT.…`) one.
 */
export function userOf(row: CallbackRow): RowUser {
  const values = row.status ? [row.to, row.user_id, row.recipient_user_id] : [row.from, row.user_id, row.from_user_id];
  const user: RowUser = {};
  for (const value of values) {
    const parsed = value === undefined ? undefined : parseUser(String(value));
    if (parsed?.kind === 'phone') user.phone ??= parsed.id;
    else if (parsed?.kind === 'bsuid' && (user.id === undefined || user.id.includes('.ENT.'))) user.id = parsed.id;
  }
  return user;
}

/**
 * What an inbound message (a `response` row: received, reply) means for its sender, whether a callback names
 * them by number, by business-scoped user id, or both: it opens their 24-hour session window
 * ({prefix}:session:{user}, read by the send gate for SESSION_CHECK), and a text that is one of
 * OPT_OUT_KEYWORDS suppresses them. Sending is by number, so what arrives by id reaches the number through
 * the link (links.ts): at once when it is known, when it is learned otherwise.
 *
 * A row that answers a message (`response_data.message_context.origin_message_id`) is attributed to it: the
 * ledger finds the message by its message_id, and its recipient is the user who answered (their number when
 * the row brings only an id).
 */
export class Inbound {
  private readonly links: UserLinks;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
    private readonly log: Logger,
    /** To attribute replies; without it they are not. */
    private readonly ledger?: Pick<Ledger, 'locate' | 'get' | 'noteReply'>,
    /** Where a keyword opt-out is recorded (actor `system:callbacks`), as every edit of the opt-out list is. */
    private readonly audit?: Pick<AuditLog, 'note'>,
  ) {
    this.links = new UserLinks(redis, keys);
  }

  /**
   * An inbound row: the user who wrote opens a 24-hour session window, and a message that is one of
   * OPT_OUT_KEYWORDS (its whole text, any case) suppresses them. Returns what it did.
   */
  async apply(row: CallbackRow): Promise<InboundEffect[]> {
    const event = row.response?.event;
    if (event !== 'received' && event !== 'reply') return [];
    const user = userOf(row);
    const done: InboundEffect[] = [];
    const answered = await this.answered(row);
    const text = inboundText(row);
    const receivedAt = new Date((plausibleItime(row.itime, Date.now()) ?? Date.now() / 1000) * 1000).toISOString();
    if (answered) {
      done.push('reply');
      // Its record says it was answered: `export --delivery replied` and the messages API filter on it.
      const now = Date.now();
      await this.ledger?.noteReply(answered.requestId, (plausibleItime(row.itime, now) ?? now / 1000) * 1000);
      // The answered message's record is added when the event is delivered (src/events/events.ts).
      await execWithEvent(this.redis, this.keys, this.redis.multi(), 'message.replied', answered.requestId, {
        reply: {
          message_id: typeof row.message_id === 'string' ? row.message_id.slice(0, 128) : '',
          at: receivedAt,
          type: inboundType(row),
          text: text === undefined ? null : text.slice(0, REPLY_TEXT_CHARS),
        },
      });
      this.log.debug(
        { request_id: answered.requestId, campaign: answered.campaign },
        'an inbound message answers a message wa-bulk sent',
      );
      // The message went to a number and its recipient answered: that is the user's number.
      if (user.phone === undefined && user.id !== undefined) user.phone = answered.to;
    }
    if (user.phone === undefined && user.id === undefined) return done;
    if (user.phone !== undefined && user.id !== undefined) {
      await this.links.learn(user.id, user.phone);
      done.push('linked');
    }
    if (text !== undefined && this.config.OPT_OUT_KEYWORDS.includes(text.trim().toUpperCase())) {
      // The id too: the number it is linked to (now or later) is suppressed with it.
      await new Suppressions(this.redis, this.keys).optOut(
        [user.phone, user.id].filter((u) => u !== undefined),
        {
          number: user.phone ?? null,
          user_id: user.id ?? null,
          source: 'keyword',
          keyword: text.trim().toUpperCase(),
          by: 'system:callbacks',
        },
      );
      this.log.info(
        { user: maskedOf(user) },
        `opt-out: "${text.trim().slice(0, 40)}" from the recipient; they are suppressed`,
      );
      // The same action as an operator's `suppress add`, its numbers masked (ids as well: they name a person).
      await this.audit?.note({
        actor: 'system:callbacks',
        action: 'suppressions.add',
        params: {
          numbers: maskedOf(user).split(' / '),
          source: 'keyword',
          keyword: text.trim().toUpperCase().slice(0, 40),
        },
      });
      done.push('opt_out');
    }
    if (await this.openSession(row, user)) done.push('session');
    return done;
  }

  /**
   * A status row of a message sent to a number that also names the recipient's business-scoped user id links
   * the two. Returns whether it did.
   */
  async learnFromStatus(row: CallbackRow): Promise<boolean> {
    if (row.user_id === undefined && row.recipient_user_id === undefined) return false;
    const user = userOf(row);
    if (user.phone === undefined || user.id === undefined) return false;
    await this.links.learn(user.id, user.phone);
    return true;
  }

  /** The window opens for each identity of the user, and for the number an id alone is linked to. */
  private async openSession(row: CallbackRow, user: RowUser): Promise<boolean> {
    const wroteAt = row.itime !== undefined ? row.itime * 1000 : Date.now();
    const leftMs = wroteAt + SESSION_MS - Date.now();
    if (leftMs <= 0) return false;
    const phone = user.phone ?? (user.id !== undefined ? await this.links.other(user.id) : undefined);
    const multi = this.redis.multi();
    for (const who of new Set([phone, user.id]))
      if (who !== undefined) multi.set(this.keys.session(who), String(wroteAt), 'PX', Math.ceil(leftMs));
    await multi.exec();
    return true;
  }

  /** The message wa-bulk sent that the row answers, with its recipient. */
  private async answered(
    row: CallbackRow,
  ): Promise<{ requestId: string; campaign: string; to: string; messageId: string } | undefined> {
    const origin = originMessageId(row);
    if (origin === undefined || this.ledger === undefined) return undefined;
    const located = await this.ledger.locate(origin);
    if (!located) return undefined;
    const record = await this.ledger.get(located.requestId);
    return record?.to ? { ...located, to: record.to, messageId: origin } : undefined;
  }
}

const maskedOf = (user: RowUser): string =>
  [
    user.phone !== undefined && maskUser({ kind: 'phone', id: user.phone }),
    user.id !== undefined && maskUser({ kind: 'bsuid', id: user.id }),
  ]
    .filter(Boolean)
    .join(' / ');

type ResponseData = Record<string, unknown> | undefined;
const responseData = (row: CallbackRow): ResponseData =>
  (row.response as { response_data?: Record<string, unknown> } | undefined)?.response_data;

/**
 * The text of an inbound message. EngageLab's callback documentation does not spell out where it is; the
 * places a text can be (response_data.message.text as a string or {body}, response_data.text) are read.
 */
function inboundText(row: CallbackRow): string | undefined {
  const data = responseData(row);
  const message = data?.message as { text?: unknown } | undefined;
  const candidates = [message?.text, (message?.text as { body?: unknown } | undefined)?.body, data?.text];
  return candidates.find((value): value is string => typeof value === 'string');
}

/** What kind of message came back (text, button, image…), as the row says; `text` when it does not. */
function inboundType(row: CallbackRow): string {
  const type = (responseData(row)?.message as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && /^[a-z_]{1,32}$/.test(type) ? type : 'text';
}

/** The message_id an inbound message answers (EngageLab: response_data.message_context.origin_message_id). */
function originMessageId(row: CallbackRow): string | undefined {
  const context = responseData(row)?.message_context as { origin_message_id?: unknown } | undefined;
  const id = context?.origin_message_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}
