import { funnel } from '../../ledger/delivery.js';
import { ExternalMetric, num, type Scrape } from './scrape.js';

/** The fleet counters behind wa_bulk_callback_effects_total, by the label value each is shown with. */
const CALLBACK_EFFECTS = [
  ['session_opened', 'sessions_opened'],
  ['opted_out', 'opt_outs'],
  ['user_linked', 'users_linked'],
  ['reply_attributed', 'replies_attributed'],
  ['outcome_learned', 'callback_learned'],
] as const;

/**
 * What EngageLab's callbacks brought: the delivery funnel, notifications, the rows and what they did, those
 * refused, not understood or not yet matched, and the quality guard's actions on them.
 */
export function callbackMetrics(scrape: Scrape): ExternalMetric[] {
  return [
    // The campaigns' delivery funnel summed over all of them: each message counted once, at its furthest
    // state (sent = accepted by the API; delivered includes read). "failed" can go down when a later
    // callback proves delivery, so this is a gauge despite its name (kept for existing dashboards).
    new ExternalMetric(
      'wa_bulk_delivery_total',
      'Delivery funnel of all messages, as `status` shows it per campaign: sent (accepted), delivered (incl. read), read, failed.',
      'gauge',
      async () => {
        const s = await scrape.stats();
        return Object.entries(funnel(s, num(s.sent))).map(([status, value]) => ({ value, labels: { status } }));
      },
    ),
    new ExternalMetric(
      'wa_bulk_notifications_total',
      'Notifications received from EngageLab, by event.',
      'counter',
      () => scrape.byPrefix('notification:', 'event'),
    ),
    scrape.counter('wa_bulk_callback_rows_total', 'Callback rows received.', 'callback_rows'),
    new ExternalMetric(
      'wa_bulk_callback_unknown_total',
      'Callback rows or values wa-bulk does not know, by part: row (a shape kept aside, see "wa-bulk callbacks unknown"), message_status, event (response or notification), tier.',
      'counter',
      () => scrape.byPrefix('callback_unknown:', 'part'),
    ),
    scrape.counter(
      'wa_bulk_callback_itime_replaced_total',
      'Callback rows whose itime was implausible (before 2015, over a day ahead, not a number) and became the time of receipt.',
      'callback_itime_replaced',
    ),
    scrape.counter(
      'wa_bulk_callback_orphans_total',
      'Callback rows for a message_id not (yet) in the ledger.',
      'callback_orphaned',
    ),
    scrape.counter(
      'wa_bulk_callback_orphans_dropped_total',
      'Callback rows for an unknown message_id not kept: its 8 rows, or the 20,000 message_ids kept, were reached.',
      'callback_orphan_dropped',
    ),
    new ExternalMetric(
      'wa_bulk_callback_effects_total',
      'What callback rows did beside delivery states: session windows opened, opt-outs, users linked to their business-scoped ids, replies attributed to a sent message, lost answers learned.',
      'counter',
      async () => {
        const s = await scrape.stats();
        return CALLBACK_EFFECTS.map(([effect, field]) => ({ value: num(s[field]), labels: { effect } }));
      },
    ),
    new ExternalMetric(
      'wa_bulk_quality_actions_total',
      'What the quality guard did on delivery callbacks: lane_paused (131048), lane_slowed (130429), campaign_paused, recipient_rested (131049).',
      'counter',
      () => scrape.byPrefix('quality_', 'action'),
    ),
    new ExternalMetric(
      'wa_bulk_callbacks_refused_total',
      'Delivery callbacks refused before they were read, by reason (source: not from CALLBACK_ALLOW_FROM).',
      'counter',
      () => scrape.byPrefix('callback_refused:', 'reason'),
    ),
  ];
}
