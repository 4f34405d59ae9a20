import type { TemplateInfo } from '../engagelab/client.js';

export interface FaultRates {
  /** 500 {code: 1000}: EngageLab's internal error. */
  error1000?: number;
  /** 503 with an HTML body, as a proxy in front of the API would answer. */
  html503?: number;
  /** 429 with Retry-After (seconds). */
  rateLimit?: number;
  /** The socket is destroyed before anything is accepted. */
  reset?: number;
  /** Accepted, but the answer comes after `slowMs` (longer than the client's timeout). */
  slow?: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  key: string;
  secret: string;
  latencyMs?: number;
  /** Spread a random fault over this share of requests (split evenly over the kinds of FaultRates). */
  failRate?: number;
  faults?: FaultRates;
  slowMs?: number;
  retryAfterSeconds?: number;
  /** Templates it knows; any other name gets 4001. Undefined: every template is known. */
  templates?: string[];
  /**
   * Templates as EngageLab's Template Management API describes them (name, language, status, components),
   * for GET /v1/templates and the sends (a name and language not listed gets 4001). Wins over `templates`.
   */
  templateCatalog?: TemplateInfo[];
  /** Seeded randomness for reproducible fault patterns. */
  seed?: number;
  /** Keep every request's arrival time (for sliding-window measurements). */
  recordArrivals?: boolean;
  /** Send EngageLab-style status callbacks for accepted messages to this URL. */
  callbackUrl?: string;
  /** Delay between the steps sent → delivered → read, in ms. */
  callbackDelayMs?: number;
  /** Share of accepted messages whose delivery fails (delivered_failed, Meta error 131026). */
  deliveryFailRate?: number;
  /** Shares of accepted messages whose delivery fails with these Meta codes (e.g. {131048: 0.01, 130429: 0.02}). */
  deliveryErrors?: Record<number, number>;
  /** Recipients (digits, as sent) whose every delivery fails with this Meta code (e.g. {'447911100001': 131049}). */
  deliveryErrorsTo?: Record<string, number>;
  /** Share of delivered template messages the recipient answers (an inbound `reply` row). */
  replyRate?: number;
  /** Share of delivered messages that are read. */
  readRate?: number;
  /** Share of messages whose rows come out of order (read before delivered) and twice. */
  shuffleRate?: number;
}
