import { z } from 'zod';
import { EVENT_SCHEMAS, EVENT_TYPES } from './schema.js';

/**
 * Events about the webhooks themselves, beside the ledger's and the campaigns' (./schema.ts): an endpoint
 * disabled (sent to the other endpoints) and the test event `wa-bulk webhooks test` sends. Also the body of a
 * batched request.
 */

const time = z.iso.datetime().meta({ description: 'ISO 8601, UTC' });

export const webhookDisabled = z
  .object({
    type: z.literal('webhook.disabled'),
    timestamp: time,
    data: z.object({
      endpoint: z.string().meta({ description: "the disabled endpoint's id" }),
      url: z.string(),
      /** `gone`: it answered 410; `failing`: every delivery failed for WEBHOOK_DISABLE_AFTER_MS. */
      reason: z.enum(['gone', 'failing']).meta({
        description: '`gone`: it answered 410; `failing`: every delivery to it failed for WEBHOOK_DISABLE_AFTER_MS',
      }),
    }),
  })
  .meta({
    id: 'WebhookDisabledEvent',
    title: 'webhook.disabled',
    description:
      '`webhook.disabled`: another endpoint was disabled; it gets nothing until `wa-bulk webhooks enable ID`. Sent to the other endpoints.',
  });

export const webhookTest = z
  .object({
    type: z.literal('webhook.test'),
    timestamp: time,
    data: z.object({ endpoint: z.string().meta({ description: "the endpoint's own id" }) }),
  })
  .meta({
    id: 'WebhookTestEvent',
    title: 'webhook.test',
    description:
      '`webhook.test`: `wa-bulk webhooks test ID` (or `POST /api/webhooks/{id}/test`), to that endpoint only, outside the retries.',
  });

export const OPERATIONAL_SCHEMAS = { 'webhook.disabled': webhookDisabled, 'webhook.test': webhookTest } as const;
export const OPERATIONAL_TYPES = Object.keys(OPERATIONAL_SCHEMAS) as Array<keyof typeof OPERATIONAL_SCHEMAS>;

/** Every type an endpoint's filters may name. */
export const ALL_EVENT_TYPES: readonly string[] = [...EVENT_TYPES, ...OPERATIONAL_TYPES];

const eventId = z
  .object({ id: z.string().meta({ description: 'the `webhook-id` this event carries alone: dedupe on it' }) })
  .meta({ id: 'BatchedEventId', description: "an event's id, in a batch" });

/** A batched request's body: the events, each with the id it would carry alone in `webhook-id`. */
export const batchSchema = z
  .object({
    type: z.literal('batch'),
    timestamp: time.meta({ description: "its first event's" }),
    data: z
      .array(
        z.union(
          [...Object.values(EVENT_SCHEMAS), ...Object.values(OPERATIONAL_SCHEMAS)].map((schema) =>
            z.intersection(schema, eventId),
          ),
        ),
      )
      .min(1)
      .meta({ description: 'the events, oldest first, each as it would be posted alone, with its id' }),
  })
  .meta({
    id: 'BatchEvent',
    title: 'batch',
    description:
      'up to N events in one request, for an endpoint added with `--batch N` (`"batch"` over the API); its `webhook-id` is `batch_<first id>_<last id>`, and a batch is retried whole.',
  });

/** An event on its way to endpoints: its id (the `webhook-id`), type, time and data. */
export interface OutgoingEvent {
  id: string;
  type: string;
  timestamp: string;
  data: unknown;
}
