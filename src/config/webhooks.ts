import { z } from 'zod';
import { filterProblem } from '../events/filters.js';
import { secretProblem } from '../events/signing.js';
import { int, parseDuration, url } from './fields.js';

/** The webhooks wa-bulk calls: the campaign.done one and the endpoint declared here (docs/webhooks.md). */
export const webhooksVariables = {
  /** Receives one campaign.done POST per campaign (done or cancelled), retried with backoff. */
  CAMPAIGN_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  /** The one webhook endpoint declared in the configuration (docs/webhooks.md), its secret and event filters. */
  WEBHOOK_URL: url(['http:', 'https:']).optional(),
  WEBHOOK_SECRET: z
    .string()
    .refine((value) => secretProblem(value) === undefined, {
      error: 'expected "whsec_" followed by the base64 of 24 to 64 random bytes',
    })
    .optional(),
  WEBHOOK_EVENTS: z
    .string()
    .transform((value, ctx) => {
      const filters = value
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
      for (const filter of filters) {
        const problem = filterProblem(filter);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { quotesInput: true } });
      }
      return filters;
    })
    .optional(),
  /** A webhook request's time limit: its answer must have come by then. */
  WEBHOOK_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /**
   * When a webhook delivery is attempted: the first attempt's delay (0: at once), then each retry's after the
   * attempt before, jittered by ±20%. Svix's schedule by default, about 27 hours in all.
   */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .transform((value, ctx) => {
      const parts = value.split(',').map((p) => p.trim());
      const delays = parts.map(parseDuration);
      if (parts.length > 20 || delays.some((d) => d === undefined))
        ctx.addIssue({
          code: 'custom',
          message: 'expected up to 20 durations separated by commas, such as 0,5s,5m,2h',
        });
      return delays.map((d) => d ?? 0);
    })
    .default([0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  /** An endpoint whose every delivery has failed for this long is disabled (Svix's five days). */
  WEBHOOK_DISABLE_AFTER_MS: int(1000, 365 * 86_400_000).default(5 * 86_400_000),
  /** How long the dispatcher lets events gather for an endpoint that takes batches. */
  WEBHOOK_BATCH_LINGER_MS: int(0, 60_000).default(200),
  // Not z.coerce.boolean(): it reads "false" as true.
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .transform((value) => value === 'true')
    .default(false),
};
