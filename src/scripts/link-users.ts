import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface LinkUsers {
  /**
   * The id's and the number's links, suppressions, their session windows, and the links each of them had to
   * someone else (their own link when none).
   */
  keys: {
    idLink: string;
    phoneLink: string;
    suppressed: string;
    idSession: string;
    phoneSession: string;
    staleIdLink: string;
    stalePhoneLink: string;
  };
  /** The business-scoped user id, as it came. */
  id: string;
  /** The number, digits. */
  phone: string;
  ttlMs: number;
}

const call = script<[0 | 1, 0 | 1]>('link-users');

/**
 * Links a number and an id both ways (link-users.lua): whether the number became suppressed by the id's
 * opt-out, and whether the id's session window opened the number's.
 */
export async function linkUsers(client: Redis, input: LinkUsers): Promise<{ suppressed: boolean; opened: boolean }> {
  const k = input.keys;
  const [suppressed, opened] = await call(
    client,
    [k.idLink, k.phoneLink, k.suppressed, k.idSession, k.phoneSession, k.staleIdLink, k.stalePhoneLink],
    [input.id, input.phone, input.ttlMs],
  );
  return { suppressed: suppressed === 1, opened: opened === 1 };
}
