import { createHash } from 'node:crypto';
import type { Message } from './schema.js';

/**
 * request_ids, one per recipient (one job per recipient):
 * - given in the input and one recipient: used as is;
 * - given and several recipients: `<request_id>.<n>`, n = 1, 2, … in the order of `to` (duplicates removed);
 * - not given: `<campaign>-<22 characters>` where the characters are a base64url SHA-256 of the campaign,
 *   the recipient and the rest of the message. Enqueueing the same file again gives the same ids, so
 *   nothing is enqueued twice, and an identical message to the same recipient is reported as a duplicate.
 */
export function requestIdsFor(campaign: string, message: Message): string[] {
  const given = message.request_id;
  if (given !== undefined) return message.to.length === 1 ? [given] : message.to.map((_, i) => `${given}.${i + 1}`);
  // The validated message's key order is the schema's (custom_args keep the input's), so the same input
  // always serialises the same way; JSON.stringify is several times faster than a sorted serialisation.
  const rest = JSON.stringify([message.from ?? null, message.body, message.custom_args ?? null]);
  return message.to.map(
    (to) =>
      `${campaign}-${createHash('sha256').update(`${campaign}\0${to}\0${rest}`).digest('base64url').slice(0, 22)}`,
  );
}
