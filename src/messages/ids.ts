import { UsageError } from '../usage-error.js';

/**
 * Identifiers from outside (a flag, a URL, a library call) are checked here, each with one message, before
 * they reach Redis keys or BullMQ job ids.
 */
export const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const REQUEST_ID = /^[A-Za-z0-9_.:@=+-]{1,128}$/;
export const REQUEST_ID_RULE = 'must be 1-128 characters of letters, digits and _ . : @ = + -';

/** The campaign id given as `where` (e.g. "--campaign"), or a UsageError naming it. */
export function campaignId(value: string, where: string): string {
  if (!CAMPAIGN_ID.test(value)) throw new UsageError(`${where}: expected 1-64 letters, digits, "_" or "-"`);
  return value;
}

/** The request_id given as `where`, or a UsageError naming it. */
export function requestId(value: string, where: string): string {
  if (!REQUEST_ID.test(value)) throw new UsageError(`${where}: ${REQUEST_ID_RULE}`);
  return value;
}

/**
 * The answer for a request_id the ledger does not know. A message enqueue leaves out (an invalid line, an
 * opted-out recipient: it counts them) is never recorded, so this is also what such an id gets.
 */
export function noMessage(id: string): string {
  return `no message with request_id "${id}": never enqueued (enqueue leaves out invalid lines and opted-out recipients, and counts them), or older than RESULT_TTL_DAYS`;
}

/** The answer for a campaign the ledger does not know; `lister` says where the known ones are listed. */
export function noCampaign(id: string, lister: string): string {
  return `no campaign "${id}" (unknown, or older than RESULT_TTL_DAYS; ${lister} lists them)`;
}
