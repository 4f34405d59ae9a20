import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** learn-message-id.lua. */
export const LearnVerdict = { Left: 0, Learned: 1, OrphansWaiting: 2 } as const;
export type LearnVerdict = (typeof LearnVerdict)[keyof typeof LearnVerdict];

export interface LearnMessageId {
  /** The message record, its campaign's counters, the message_id's index entry and orphaned rows, the archive. */
  keys: {
    message: string;
    campaign: string;
    messageIdKey: string;
    orphanKey: string;
    archive: string;
    minutes: string;
  };
  /** The message's campaign, as its record names it. */
  campaign: string;
  messageId: string;
  /** The message_id index entry's value. */
  messageIdEntry: string;
  /** Epoch ms. */
  now: number;
  /** How long the sent record stays. */
  ttlSeconds: number;
  /** Where the request_id starts in the record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
}

const call = script<[LearnVerdict, string]>('learn-message-id');

/**
 * Records a message whose outcome wa-bulk never learned as sent with the message_id a status callback
 * reported for it (learn-message-id.lua): the verdict, and the status it had before (null for no record).
 */
export async function learnMessageId(
  client: Redis,
  input: LearnMessageId,
): Promise<{ verdict: LearnVerdict; previous: string | null }> {
  const k = input.keys;
  const [verdict, previous] = await call(
    client,
    [k.message, k.campaign, k.messageIdKey, k.orphanKey, k.archive, k.minutes],
    [input.campaign, input.messageId, input.messageIdEntry, input.now, input.ttlSeconds, input.idFrom],
  );
  return { verdict, previous: previous === '' ? null : previous };
}
