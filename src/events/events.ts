import { toRecord, type CampaignCounts } from '../ledger/records.js';
import { isMessageChange, type FeedEntry } from './feed.js';
import { OPERATIONAL_TYPES, type OutgoingEvent } from './operational.js';
import { EVENT_SCHEMAS } from './schema.js';

/**
 * The public event an entry of the change feed is, if any, shaped as its schema in ./schema.ts says:
 * - a message's change becomes `message.<kind>` with the message's record, as it was at that change, and its
 *   custom_args as `data` (a change no event names, such as a replayed dead letter going back to pending, is
 *   none);
 * - `message.replied` is the answered message's record (as it is now) with the reply;
 * - a campaign's event is the campaign as `status --json` shows it (as it is now), with who made the change
 *   and the state the change set;
 * - anything else is its type with its data as appended.
 * The event's id is the entry's, so that a delivery made again (a retry, a dispatcher that died before
 * acknowledging) carries the same `webhook-id`; its timestamp is when the change was made.
 */

const MESSAGE_KINDS: Readonly<Record<string, string>> = {
  sent: 'message.sent',
  dead: 'message.dead',
  skipped: 'message.skipped',
  delivered: 'message.delivered',
  read: 'message.read',
  failed: 'message.failed',
};

const KNOWN = new Set<string>([...Object.keys(EVENT_SCHEMAS), ...OPERATIONAL_TYPES]);

/** What an event of the present needs to read: a message's record hash, a campaign's figures. */
export interface Lookups {
  message(requestId: string): Promise<Record<string, string>>;
  campaign(id: string): Promise<CampaignCounts | undefined>;
}

/** An entry id (`<ms>-<seq>`) as a `webhook-id`: no `.` in it, as the specification asks. */
export const eventId = (entryId: string): string => `msg_${entryId}`;

/** A message's record from its hash, with its custom_args ({} without). */
function messageData(requestId: string, hash: Record<string, string>) {
  return {
    ...toRecord(requestId, hash),
    custom_args: toRecord(requestId, hash).custom_args ?? {},
  };
}

/** The type of event an entry is, without reading anything (undefined: none), to skip what a filter drops. */
export function typeOf(entry: FeedEntry): string | undefined {
  if (isMessageChange(entry.kind)) return MESSAGE_KINDS[entry.kind];
  return KNOWN.has(entry.kind) ? entry.kind : undefined;
}

export async function eventOf(entry: FeedEntry, lookups: Lookups): Promise<OutgoingEvent | undefined> {
  const timestamp = new Date(Number(entry.id.slice(0, entry.id.indexOf('-')))).toISOString();
  const id = eventId(entry.id);
  if (isMessageChange(entry.kind)) {
    const type = MESSAGE_KINDS[entry.kind];
    if (type === undefined) return undefined;
    const pairs = JSON.parse(entry.data) as string[];
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string;
    return { id, type, timestamp, data: messageData(entry.subject, hash) };
  }
  if (!KNOWN.has(entry.kind)) return undefined;
  const appended = JSON.parse(entry.data) as Record<string, unknown>;
  if (entry.kind === 'message.replied') {
    const hash = await lookups.message(entry.subject);
    return { id, type: entry.kind, timestamp, data: { ...messageData(entry.subject, hash), ...appended } };
  }
  if (entry.kind.startsWith('campaign.')) {
    const counts = await lookups.campaign(entry.subject);
    return { id, type: entry.kind, timestamp, data: { ...counts, ...appended, id: entry.subject } };
  }
  return { id, type: entry.kind, timestamp, data: appended };
}

/** The campaign an event concerns, for an endpoint that wants one campaign's events; undefined: none. */
export function campaignOf(event: OutgoingEvent): string | undefined {
  const data = event.data as { campaign?: unknown; id?: unknown };
  if (event.type.startsWith('message.')) return typeof data.campaign === 'string' ? data.campaign : undefined;
  if (event.type.startsWith('campaign.')) return typeof data.id === 'string' ? data.id : undefined;
  return undefined;
}

/** A batch's `webhook-id`: its first and last events' (the same again when the same batch is sent again). */
export const batchId = (events: readonly OutgoingEvent[]): string =>
  `batch_${(events[0] as OutgoingEvent).id.slice(4)}_${(events[events.length - 1] as OutgoingEvent).id.slice(4)}`;

/** A request's body: one event, or a batch of them (each with its id), timed as its first event. */
export function bodyOf(events: readonly OutgoingEvent[], batched: boolean): string {
  if (!batched) {
    const [event] = events as [OutgoingEvent];
    return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  }
  return JSON.stringify({
    type: 'batch',
    timestamp: (events[0] as OutgoingEvent).timestamp,
    data: events.map((e) => ({ id: e.id, type: e.type, timestamp: e.timestamp, data: e.data })),
  });
}
