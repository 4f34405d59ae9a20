import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { CallbackRow } from '../engagelab/callbacks.js';
import type { Logger } from '../log.js';
import { normalisePhone } from '../messages/phone.js';
import type { Keys } from '../redis/keys.js';
import { Suppressions } from './suppressions.js';

/** WhatsApp's customer-service window: 24 hours after the user last wrote. */
const SESSION_MS = 24 * 3600 * 1000;

/**
 * What an inbound message (a `response` row: received, reply) means for its sender: it opens their 24-hour
 * session window ({prefix}:session:{user}, read by the send gate for SESSION_CHECK), and a text that is one of
 * OPT_OUT_KEYWORDS suppresses them.
 */
export class Inbound {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /**
   * An inbound row: the user who wrote opens a 24-hour session window, and a message that is one of
   * OPT_OUT_KEYWORDS (its whole text, any case) suppresses them. Returns what it did.
   */
  async apply(row: CallbackRow): Promise<Array<'session' | 'opt_out'>> {
    const event = row.response?.event;
    const user = row.from === undefined ? undefined : normalisePhone(String(row.from));
    if ((event !== 'received' && event !== 'reply') || user === undefined) return [];
    const done: Array<'session' | 'opt_out'> = [];
    const text = inboundText(row);
    if (text !== undefined && this.config.OPT_OUT_KEYWORDS.includes(text.trim().toUpperCase())) {
      await new Suppressions(this.redis, this.keys).add([user]);
      this.log.info({ to: user }, `opt-out: "${text.trim()}" from the recipient; they are suppressed`);
      done.push('opt_out');
    }
    if (await this.openSession(row, user)) done.push('session');
    return done;
  }

  private async openSession(row: CallbackRow, user: string): Promise<boolean> {
    const wroteAt = row.itime !== undefined ? row.itime * 1000 : Date.now();
    const leftMs = wroteAt + SESSION_MS - Date.now();
    if (leftMs <= 0) return false;
    await this.redis.set(this.keys.session(user), String(wroteAt), 'PX', Math.ceil(leftMs));
    return true;
  }
}

/**
 * The text of an inbound message. EngageLab's callback documentation does not spell out where it is; the
 * places a text can be (response_data.message.text as a string or {body}, response_data.text) are read.
 */
function inboundText(row: CallbackRow): string | undefined {
  const data = (row.response as { response_data?: Record<string, unknown> } | undefined)?.response_data;
  const message = data?.message as { text?: unknown } | undefined;
  const candidates = [message?.text, (message?.text as { body?: unknown } | undefined)?.body, data?.text];
  return candidates.find((value): value is string => typeof value === 'string');
}
