import { z } from 'zod';
import { normalisePhone, phoneProblem } from '../messages/phone.js';
import { int } from './fields.js';

/** How fast and from which numbers messages go: rates, WhatsApp's limits, the quality guard, priorities, workers. */
export const sendingVariables = {
  WA_FROM: z
    .string()
    .transform((value, ctx) => {
      const phone = normalisePhone(value);
      const problem = phone === undefined ? undefined : phoneProblem(phone);
      if (phone === undefined || problem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an international phone number (country code and number)${problem ? `; this one ${problem}` : ''}`,
        });
        return z.NEVER;
      }
      return phone;
    })
    .optional(),
  SEND_RATE_MAX: int(1, 100_000).default(80),
  SEND_RATE_DURATION_MS: int(10, 3_600_000).default(1000),
  SENDER_RATE_MAX: int(1, 100_000).default(80),
  SENDER_RATES: z
    .string()
    .transform((value, ctx) => {
      const rates: Record<string, number> = {};
      for (const part of value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const match = /^([^=]+)=(\d+)$/.exec(part);
        const phone = match ? normalisePhone(match[1] as string) : undefined;
        const rate = match ? Number(match[2]) : 0;
        if (!match || phone === undefined || rate < 1 || rate > 100_000) {
          ctx.addIssue({
            code: 'custom',
            message: `expected NUMBER=RATE pairs separated by commas (e.g. 8613800138000=1000,8613800138001=20), and "${part}" is not one`,
            params: { quotesInput: true },
          });
          return z.NEVER;
        }
        rates[phone] = rate;
      }
      return rates;
    })
    .default({}),
  MESSAGING_LIMIT: z.coerce
    .string()
    .regex(/^(auto|unlimited|[1-9]\d{0,8})$/, { error: 'expected a positive integer, "unlimited" or "auto"' })
    .transform((value): number | 'unlimited' | 'auto' =>
      value === 'auto' || value === 'unlimited' ? value : Number(value),
    )
    .default('auto'),
  /** The messaging limit's moving window; a day, as WhatsApp counts it (shorter only to rehearse or test). */
  MESSAGING_WINDOW_MS: int(1000, 7 * 86_400_000).default(86_400_000),
  PAIR_INTERVAL_MS: int(0, 3_600_000).default(6000),
  SESSION_CHECK: z.enum(['off', 'enforce'], { error: 'expected "off" or "enforce"' }).default('off'),
  QUALITY_WINDOW: int(1, 100_000).default(200),
  QUALITY_MAX_FAILED: z.coerce
    .number({ error: 'expected a fraction between 0 and 1' })
    .min(0, { error: 'expected a fraction between 0 and 1' })
    .max(1, { error: 'expected a fraction between 0 and 1' })
    .default(0.2),
  /** A low-priority message waiting longer than this is moved up to normal, so that it never starves. */
  LOW_PRIORITY_MAX_WAIT_MS: int(1000, 7 * 86_400_000).default(600_000),
  WORKER_CONCURRENCY: int(1, 10_000).default(100),
  WORKER_LOCK_MS: int(1000, 600_000).default(30_000),
};
