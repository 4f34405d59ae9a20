import { toRecord } from '../ledger/records.js';
import { isMessageChange, type FeedEntry } from './feed.js';
import { EVENT_SCHEMAS, type EventType, type WebhookEvent } from './schema.js';

/**
 * The public event an entry of the change feed is, if any: a message's change becomes `message.<kind>` with
 * the message's record and its custom_args as `data` (a change no event names, such as a replayed dead letter going back to
 * pending, is none); any other entry is its type, its data as appended. The event's id is the entry's, so
 * that a delivery made again (a retry, a dispatcher that died before acknowledging) carries the same
 * `webhook-id`, and its timestamp is when the change was made.
 */

const MESSAGE_KINDS: Readonly<Record<string, EventType>> = {
  sent: 'message.sent',
  dead: 'message.dead',
  skipped: 'message.skipped',
  delivered: 'message.delivered',
  read: 'message.read',
  failed: 'message.failed',
};

/** An entry id (`<ms>-<seq>`) as a `webhook-id`: no `.` in it, as the specification asks. */
export const eventId = (entryId: string): string => `msg_${entryId}`;

export function eventOf(entry: FeedEntry): WebhookEvent | undefined {
  const timestamp = new Date(Number(entry.id.slice(0, entry.id.indexOf('-')))).toISOString();
  if (isMessageChange(entry.kind)) {
    const type = MESSAGE_KINDS[entry.kind];
    if (type === undefined) return undefined;
    const pairs = JSON.parse(entry.data) as string[];
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string;
    const record = toRecord(entry.subject, hash);
    // Its custom_args, so that a receiver can match the message to its own ids.
    const data = hash.args ? { ...record, custom_args: JSON.parse(hash.args) as Record<string, unknown> } : record;
    return { id: eventId(entry.id), type, timestamp, data };
  }
  if (!(entry.kind in EVENT_SCHEMAS)) return undefined;
  return { id: eventId(entry.id), type: entry.kind as EventType, timestamp, data: JSON.parse(entry.data) as unknown };
}

/** The campaign an event concerns, for an endpoint that wants one campaign's events; undefined: none. */
export function campaignOf(event: WebhookEvent): string | undefined {
  const data = event.data as { campaign?: unknown; id?: unknown };
  if (event.type.startsWith('message.')) return typeof data.campaign === 'string' ? data.campaign : undefined;
  if (event.type.startsWith('campaign.')) return typeof data.id === 'string' ? data.id : undefined;
  return undefined;
}

/** A batch's `webhook-id`: its first and last events' (the same again when the same batch is sent again). */
export const batchId = (events: readonly WebhookEvent[]): string =>
  `batch_${(events[0] as WebhookEvent).id.slice(4)}_${(events[events.length - 1] as WebhookEvent).id.slice(4)}`;

/** A request's body: one event, or a batch of them (each with its id), timed as its first event. */
export function bodyOf(events: readonly WebhookEvent[], batched: boolean): string {
  if (!batched) {
    const [event] = events as [WebhookEvent];
    return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  }
  return JSON.stringify({
    type: 'batch',
    timestamp: (events[0] as WebhookEvent).timestamp,
    data: events.map((e) => ({ id: e.id, type: e.type, timestamp: e.timestamp, data: e.data })),
  });
}
