import { z } from 'zod';
import { int } from './fields.js';

/** The checks before a campaign (src/preflight/) and its pricing. */
export const preflightVariables = {
  PREFLIGHT_CONCURRENCY: int(1, 256).default(8),
  PREFLIGHT_TIMEOUT_MS: int(100, 600_000).default(5000),
  // Not z.coerce.boolean(): it reads "false" as true.
  PREFLIGHT_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .transform((value) => value === 'true')
    .default(false),
  /**
   * A rate card (CSV: market, category, price, currency, effective_date) that `check` and `enqueue --dry-run`
   * price a campaign's template messages with, and whose estimate a real enqueue keeps on the campaign; unset:
   * they only count them.
   */
  RATE_CARD_FILE: z.string().min(1).optional(),
};
