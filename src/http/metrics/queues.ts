import { ExternalMetric, type Scrape } from './scrape.js';

/** What waits to be sent: the queues, each sender lane, the messaging limit's window, the campaigns by state. */
export function queueMetrics(scrape: Scrape): ExternalMetric[] {
  return [
    new ExternalMetric(
      'wa_bulk_queue_jobs',
      'Jobs in the send queues (all sender lanes) by state, and dead letters waiting for an operator.',
      'gauge',
      async () => {
        const { counts } = await scrape.laneStates();
        const dead = await scrape.src.dead.getJobCountByTypes('waiting');
        return [
          { value: counts.waiting, labels: { queue: 'send', state: 'waiting' } },
          { value: counts.active, labels: { queue: 'send', state: 'active' } },
          { value: counts.delayed, labels: { queue: 'send', state: 'delayed' } },
          { value: counts.failed, labels: { queue: 'send', state: 'failed' } },
          { value: dead, labels: { queue: 'dead', state: 'waiting' } },
        ];
      },
    ),
    new ExternalMetric(
      'wa_bulk_sender_sent_total',
      'Messages EngageLab accepted, by sending number ("default": EngageLab\'s default number).',
      'counter',
      () => scrape.byPrefix('sent_lane:', 'from'),
    ),
    new ExternalMetric(
      'wa_bulk_sender_waiting',
      'Messages waiting (or delayed) in each sender lane.',
      'gauge',
      async () => (await scrape.laneStates()).lanes.map((l) => ({ value: l.waiting, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_sender_rate',
      "Each sender lane's current limit per SEND_RATE_DURATION_MS (lower while a 130429 slow-down lasts).",
      'gauge',
      async () => (await scrape.laneStates()).lanes.map((l) => ({ value: l.rate_now, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_sender_paused',
      '1 while a sender lane is paused (by an operator, 131048, or with the whole fleet).',
      'gauge',
      async () => (await scrape.laneStates()).lanes.map((l) => ({ value: l.paused ? 1 : 0, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit',
      'Distinct recipients of template messages allowed in the moving window (-1: unlimited).',
      'gauge',
      async () => {
        const m = await scrape.lanes.messagingLimit();
        return [{ value: m.limit === 'unlimited' ? -1 : m.limit, labels: {} }];
      },
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit_used',
      'Distinct recipients of template messages in the moving window.',
      'gauge',
      async () => [{ value: (await scrape.lanes.messagingLimit()).used, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit_held',
      'Template messages waiting for a place under the messaging limit.',
      'gauge',
      async () => [{ value: (await scrape.lanes.messagingLimit()).held, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_campaigns',
      'Campaigns by state (scheduled, sending, paused, done, cancelled), of the newest 500 Redis holds.',
      'gauge',
      async () => {
        const byState: Record<string, number> = { scheduled: 0, sending: 0, paused: 0, done: 0, cancelled: 0 };
        let seen = 0;
        // Redis's campaigns only: a scrape must not aggregate the long-term ledger's history.
        for await (const campaign of scrape.src.ledger.campaigns(200, 0)) {
          byState[campaign.state] = (byState[campaign.state] ?? 0) + 1;
          if (++seen >= 500) break;
        }
        return Object.entries(byState).map(([state, value]) => ({ value, labels: { state } }));
      },
    ),
  ];
}
