import { z } from 'zod';
import { EVENT_TYPES } from './schema.js';

/**
 * Events about the webhooks themselves, beside the ledger's and the campaigns' (./schema.ts): an endpoint
 * disabled (sent to the other endpoints) and the test event `wa-bulk webhooks test` sends. Also the body of a
 * batched request.
 */

const time = z.iso.datetime();

export const webhookDisabled = z.object({
  type: z.literal('webhook.disabled'),
  timestamp: time,
  data: z.object({
    endpoint: z.string(),
    url: z.string(),
    /** `gone`: it answered 410; `failing`: every delivery failed for WEBHOOK_DISABLE_AFTER_MS. */
    reason: z.enum(['gone', 'failing']),
  }),
});

export const webhookTest = z.object({
  type: z.literal('webhook.test'),
  timestamp: time,
  data: z.object({ endpoint: z.string() }),
});

export const OPERATIONAL_TYPES = ['webhook.disabled', 'webhook.test'] as const;

/** Every type an endpoint's filters may name. */
export const ALL_EVENT_TYPES: readonly string[] = [...EVENT_TYPES, ...OPERATIONAL_TYPES];

/** A batched request's body: the events, each with the id it would carry alone in `webhook-id`. */
export const batchSchema = z.object({
  type: z.literal('batch'),
  timestamp: time,
  data: z.array(z.object({ id: z.string(), type: z.string(), timestamp: time, data: z.unknown() })),
});

/** An event on its way to endpoints: its id (the `webhook-id`), type, time and data. */
export interface OutgoingEvent {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}
