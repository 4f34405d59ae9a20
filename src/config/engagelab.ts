import { z } from 'zod';
import { int, url } from './fields.js';

/** EngageLab's API and how requests to it are made: credentials, transport, retries, attempts, the outage breaker. */
export const engagelabVariables = {
  ENGAGELAB_BASE_URL: url(['http:', 'https:']).default('https://wa.api.engagelab.cc'),
  ENGAGELAB_DEV_KEY: z.string().optional(),
  ENGAGELAB_DEV_SECRET: z.string().optional(),
  HTTP_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /** How axios's requests reach EngageLab: over undici's Pool (its adapter here), or axios's own Node http adapter. */
  HTTP_TRANSPORT: z.enum(['undici', 'node'], { error: 'expected "undici" or "node"' }).default('undici'),
  RETRY_RETRIES: int(0, 20).default(3),
  RETRY_MIN_MS: int(0, 600_000).default(500),
  RETRY_MAX_MS: int(0, 600_000).default(5000),
  SEND_ATTEMPTS: int(1, 100).default(5),
  SEND_BACKOFF_MS: int(0, 86_400_000).default(30_000),
  AMBIGUOUS_OUTCOME: z
    .enum(['dead-letter', 'resend'], { error: 'expected "dead-letter" or "resend"' })
    .default('dead-letter'),
  OUTAGE_THRESHOLD: int(1, 1_000_000).default(20),
  OUTAGE_COOLDOWN_MS: int(10, 3_600_000).default(1000),
  OUTAGE_COOLDOWN_MAX_MS: int(10, 3_600_000).default(60_000),
};
