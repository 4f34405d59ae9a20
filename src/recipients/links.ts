import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import { linkUsers } from '../scripts/link-users.js';

/**
 * Which phone number a business-scoped user id belongs to, and back ({prefix}:user:{number or id}), learned
 * from callbacks that carry both: an inbound message with the user's number and id, a status row of a
 * message wa-bulk sent to a number that names the recipient's id, or a reply by id to a message wa-bulk sent
 * to a number. Each link lasts LINK_TTL_MS after it was last seen: Meta gives a user a new id when they
 * change number, and a number may pass to someone else, so an old link must not live for ever.
 *
 * Sending stays by number; the links carry to the number what arrives by id (an opt-out, a session window).
 */
export const LINK_TTL_MS = 90 * 24 * 3600 * 1000;

export class UserLinks {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Links `id` and `phone` (link-users.lua): an opt-out recorded for the id now suppresses the number, and a
   * session window the id opened is the number's too. Says which of these happened.
   */
  async learn(id: string, phone: string): Promise<{ suppressed: boolean; opened: boolean }> {
    const k = this.keys;
    const [idWas, phoneWas] = await this.redis.mget(k.userLink(id), k.userLink(phone));
    return linkUsers(this.redis, {
      keys: {
        idLink: k.userLink(id),
        phoneLink: k.userLink(phone),
        suppressed: k.suppressed,
        idSession: k.session(id),
        phoneSession: k.session(phone),
        staleIdLink: k.userLink(idWas && idWas !== phone ? idWas : id),
        stalePhoneLink: k.userLink(phoneWas && phoneWas !== id ? phoneWas : phone),
      },
      id,
      phone,
      ttlMs: LINK_TTL_MS,
    });
  }

  /** The other identity of each user (a number's id, an id's number), where one is known. */
  async others(users: readonly string[]): Promise<string[]> {
    if (users.length === 0) return [];
    const found = await this.redis.mget(users.map((user) => this.keys.userLink(user)));
    return found.filter((other): other is string => other !== null);
  }

  async other(user: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.userLink(user))) ?? undefined;
  }
}
