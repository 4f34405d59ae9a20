/**
 * The one Redis key layout of wa-bulk. Every key starts with QUEUE_PREFIX; with a `{hash tag}` prefix (required
 * with REDIS_CLUSTER_NODES) all of them land in one Redis Cluster slot, which the scripts and BullMQ's rely on:
 * every key a script touches is in its KEYS.
 */
export function keys(prefix: string) {
  return {
    prefix,
    message: (requestId: string) => `${prefix}:msg:${requestId}`,
    messageId: (messageId: string) => `${prefix}:mid:${messageId}`,
    /** Delivery rows that arrived before their message_id was recorded (kept an hour). */
    orphan: (messageId: string) => `${prefix}:orphan:${messageId}`,
    /** Orphaned message_ids by when their rows expire (ms): the bound on orphans (src/ledger/delivery-ledger.ts). */
    orphans: `${prefix}:orphans`,
    /** Callback rows of an unknown shape, kept for a look (src/engagelab/unknown-rows.ts). */
    callbacksUnknown: `${prefix}:callbacks-unknown`,
    /** How far the callback worker got in a batch job, by job id (workers/callback-worker.ts). */
    callbackProgress: (jobId: string) => `${prefix}:callbacks-progress:${jobId}`,
    /** Template names (and name:language) enqueued recently, for template_update notifications. */
    templates: `${prefix}:templates`,
    campaign: (id: string) => `${prefix}:campaign:${id}`,
    campaignIds: (id: string) => `${prefix}:campaign:${id}:ids`,
    /**
     * The campaign's sends and delivery states by minute (src/scripts/includes/delivery.lua), for its timeline:
     * field `<minute since the epoch>:<sent|failed|delivered|read>`.
     */
    campaignMinutes: (id: string) => `${prefix}:campaign:${id}:minutes`,
    /** Jobs of a paused campaign that workers parked (src/campaigns/campaigns.ts). */
    campaignParked: (id: string) => `${prefix}:campaign:${id}:parked`,
    /** The campaign's latest delivery outcomes (1 failed, 0 delivered), for its quality guard. */
    campaignOutcomes: (id: string) => `${prefix}:campaign:${id}:outcomes`,
    /** The first lines refused at enqueue, over every enqueue of the campaign (src/ledger/rejects.ts). */
    campaignRejects: (id: string) => `${prefix}:campaign:${id}:rejects`,
    campaigns: `${prefix}:campaigns`,
    /** Follow-up rules (src/campaigns/followups.ts): each rule's hash, and every rule's id by creation (ms). */
    followup: (id: string) => `${prefix}:followup:${id}`,
    followups: `${prefix}:followups`,
    /**
     * The change feed: the ledger's changes and the campaigns' and the fleet's events, read by the archiver
     * (DATABASE_URL) and the webhook dispatcher (src/events/feed.ts, src/scripts/includes/feed.lua).
     */
    archive: `${prefix}:archive`,
    /**
     * Webhook endpoints (src/events/endpoints.ts): their ids, a count bumped by every change to the set or an
     * endpoint's settings, each one's record, its deliveries waiting for a retry and those out of attempts.
     */
    webhooks: `${prefix}:endpoints`,
    webhooksVersion: `${prefix}:endpoints:version`,
    webhook: (id: string) => `${prefix}:endpoint:${id}`,
    webhookRetries: (id: string) => `${prefix}:endpoint:${id}:retries`,
    webhookFailed: (id: string) => `${prefix}:endpoint:${id}:failed`,
    /** Campaigns not yet reported done (src/campaigns/watch.ts). */
    campaignsOpen: `${prefix}:campaigns:open`,
    /**
     * BullMQ's own keys, needed where a script must see or add a job atomically with the ledger: a job's
     * hash by its job id (jobIdFor(request_id) for send jobs), and a queue's lists, hashes and streams.
     */
    bullJob: (queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
    bull: (
      queue: string,
      name: 'wait' | 'meta' | 'id' | 'events' | 'marker' | 'active' | 'prioritized' | 'pc' | 'delayed',
    ) => `${prefix}:${queue}:${name}`,
    /** Opt-outs: normalised numbers and business-scoped user ids that get no message (src/recipients/suppressions.ts). */
    suppressed: `${prefix}:suppressed`,
    limiterNext: `${prefix}:limiter:next`,
    /** Sender lanes (src/lanes/lanes.ts): the registry, each lane's state and its pace (TAT). */
    lanes: `${prefix}:lanes`,
    lane: (lane: string) => `${prefix}:lane:${lane}`,
    lanePace: (lane: string) => `${prefix}:lane:${lane}:next`,
    /** Held by the worker doing a lane's round of low-priority aging (workers/send-worker.ts). */
    laneAging: (lane: string) => `${prefix}:lane:${lane}:aging`,
    /** The last message from a lane to a recipient, for PAIR_INTERVAL_MS (expires by itself). */
    pair: (lane: string, to: string) => `${prefix}:pair:${lane}:${to}`,
    /** When a recipient last wrote (inbound messages), for SESSION_CHECK; expires after 24 h. */
    session: (to: string) => `${prefix}:session:${to}`,
    /**
     * Marketing fatigue (src/recipients/fatigue.ts), per recipient across campaigns: the marketing template
     * messages of the FREQUENCY_CAP window (request_ids by when they were granted), and the rest after Meta's
     * 131049. Both expire by themselves.
     */
    marketingSent: (to: string) => `${prefix}:marketing:${to}`,
    marketingRest: (to: string) => `${prefix}:marketing-rest:${to}`,
    /** Present while any recipient rests: workers check recipients' rests only then. */
    marketingRests: `${prefix}:marketing-rests`,
    /**
     * A user's other identity, learned from a callback that carried both (src/recipients/links.ts): a number's
     * key holds the business-scoped user id, an id's key the number. Expires unless seen again.
     */
    userLink: (user: string) => `${prefix}:user:${user}`,
    /** The messaging limit: recipients of template messages by their latest one (ms), and messages held by it. */
    tier: `${prefix}:tier`,
    tierHeld: `${prefix}:tier:held`,
    limiterGate: `${prefix}:limiter:gate`,
    breaker: `${prefix}:breaker`,
    breakerProbe: `${prefix}:breaker:probe`,
    /** API keys (src/access/keys.ts): each key's record by its public id, every id by creation, name → live id. */
    apiKey: (id: string) => `${prefix}:apikey:${id}`,
    apiKeys: `${prefix}:apikeys`,
    apiKeyNames: `${prefix}:apikeys:names`,
    /** The audit log (src/access/audit.ts), and the refused credentials it recorded in one minute. */
    audit: `${prefix}:audit`,
    auditRefused: (minute: number) => `${prefix}:audit:refused:${minute}`,
    /** The API's per-key request counts (rate-limit-redis adds the key's name). */
    rateLimit: `${prefix}:ratelimit:`,
    control: `${prefix}:control`,
    /** Held by the process doing this round of housekeeping (src/ledger/housekeeping.ts). */
    housekeeping: `${prefix}:housekeeping`,
    /** The fleet's counters: each worker adds its own about once a second, /metrics reads them. */
    metrics: `${prefix}:metrics`,
  };
}
export type Keys = ReturnType<typeof keys>;
