import { maskPhone, normalisePhone } from './phone.js';

/**
 * A WhatsApp user as EngageLab's callbacks name them: a phone number, or a business-scoped user id (Meta's
 * BSUID, in webhooks since April 2026: a two-letter country code, a period, then up to 128 letters and digits;
 * a parent id shared by several business portfolios has `ENT.` after the period). A user who adopts a
 * username may arrive with the id alone. wa-bulk sends to phone numbers only; an id serves opt-outs, session
 * windows and replies, linked to a number when a callback carries both (src/recipients/links.ts).
 *
 * Spellings: a number as digits, country code first (normalisePhone); an id exactly as it came (Meta says to
 * store it and send it back unchanged).
 */

export const BSUID = /^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$/;
/** The longest id: country code, period, `ENT.`, 128 characters. */
export const BSUID_MAX_LENGTH = 2 + 1 + 4 + 128;
export const BSUID_RULE =
  'a business-scoped user id is a two-letter country code, ".", then 1 to 128 letters and digits (e.g. US.13491208655302741918)';

export type UserId = { kind: 'phone'; id: string } | { kind: 'bsuid'; id: string };

export const isBsuid = (value: string): boolean => value.length <= BSUID_MAX_LENGTH && BSUID.test(value);

/** Starts as an id does (`CC.`), whatever follows: what no phone number does, in any notation. */
export const looksLikeBsuid = (value: string): boolean => /^[A-Za-z]{2}\./.test(value);

/** A phone number (any international notation) or an id, in its one spelling; undefined when it is neither. */
export function parseUser(value: string): UserId | undefined {
  if (isBsuid(value)) return { kind: 'bsuid', id: value };
  const phone = normalisePhone(value);
  return phone === undefined ? undefined : { kind: 'phone', id: phone };
}

/** Why a value is not a user, for a message that quotes it (shortened) first. */
export function userProblem(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return looksLikeBsuid(value)
    ? `"${shown}" is not a business-scoped user id: ${BSUID_RULE}`
    : `"${shown}" is neither an international phone number (country code and number) nor a business-scoped user id`;
}

/**
 * An id for logs. It names one person to the business as surely as their number does, and since 2026 a
 * message can be sent to it, so it is masked like one: the country code (and `ENT.`) and the last two
 * characters stay, e.g. US.********18.
 */
export function maskBsuid(id: string): string {
  const head = /^[A-Za-z]{2}\.(?:ENT\.)?/.exec(id)?.[0] ?? '';
  const tail = id.slice(head.length);
  return tail.length <= 4 ? `${head}****` : `${head}********${tail.slice(-2)}`;
}

export const maskUser = (user: UserId): string => (user.kind === 'bsuid' ? maskBsuid(user.id) : maskPhone(user.id));

/**
 * An id inside text: the shape above, not part of a longer word, with at least one digit after the period
 * (so that words such as `US.ENT` or a file name are left alone).
 */
const BSUID_IN_TEXT = /(?<![A-Za-z0-9.])[A-Z]{2}\.(?:ENT\.)?(?=[A-Za-z]*\d)[A-Za-z0-9]+(?![A-Za-z0-9])/g;

export const maskBsuidsIn = (text: string): string => text.replace(BSUID_IN_TEXT, maskBsuid);
