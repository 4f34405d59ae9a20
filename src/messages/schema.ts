import { z } from 'zod';
import { TEMPLATE_LANGUAGES } from './languages.js';
import { looksLikeBsuid } from './identity.js';
import { normalisePhone, phoneProblem } from './phone.js';
import { REQUEST_ID, REQUEST_ID_RULE } from './ids.js';

/**
 * The EngageLab Send Message API request body, as the seed documents describe it
 * (EngageLab Send Message API, English and Japanese editions; the Japanese one has the authentication
 * template button rule). Inner objects are strict, so a misspelt field
 * ("captoin") is reported instead of silently dropped.
 */

export const MESSAGE_TYPES = ['template', 'text', 'image', 'audio', 'video', 'document', 'sticker'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Characters as a person counts them (code points), not UTF-16 units. */
const maxChars = (limit: number, what: string) =>
  z.string().refine((s) => [...s].length <= limit, {
    error: (issue) => `${what} is ${[...String(issue.input)].length} characters long; the limit is ${limit}`,
  });

const httpLink = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// link' },
);

/** A discriminated union's own error: a missing value, a non-object, or an unknown `type`. */
function unionError(unknownType: string) {
  return (issue: { input?: unknown; code?: string }) => {
    if (issue.input === undefined) return 'is required';
    if (typeof issue.input !== 'object' || issue.input === null || Array.isArray(issue.input))
      return 'must be an object';
    return unknownType;
  };
}

const mediaBase = {
  id: z.string().min(1).optional(),
  link: httpLink.optional(),
};
const needsIdOrLink = (value: { id?: string | undefined; link?: string | undefined }) =>
  value.id !== undefined || value.link !== undefined;
const ID_OR_LINK = { error: 'needs an "id" (WhatsApp media id) or a "link"' };

const caption = maxChars(1024, 'caption').optional();
export const imageSchema = z.strictObject({ ...mediaBase, caption }).refine(needsIdOrLink, ID_OR_LINK);
export const videoSchema = z.strictObject({ ...mediaBase, caption }).refine(needsIdOrLink, ID_OR_LINK);
export const audioSchema = z.strictObject(mediaBase).refine(needsIdOrLink, ID_OR_LINK);
export const stickerSchema = z.strictObject(mediaBase).refine(needsIdOrLink, ID_OR_LINK);
export const documentSchema = z
  .strictObject({ ...mediaBase, caption, filename: z.string().min(1).max(240).optional() })
  .refine(needsIdOrLink, ID_OR_LINK);

export const textSchema = z.strictObject({
  body: maxChars(4096, 'text').refine((s) => s.length > 0, { error: 'must not be empty' }),
  preview_url: z.boolean().optional(),
});

const currencySchema = z.strictObject({
  fallback_value: z.string().min(1),
  code: z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code such as "USD"' }),
  amount_1000: z.number({ error: 'is required: the amount multiplied by 1000, as an integer' }).int(),
});

const dateTimeSchema = z
  .strictObject({
    fallback_value: z.string().min(1),
    timestamp: z.number().int().nonnegative().optional(),
    day_of_week: z.number().int().min(1).max(7).optional(),
    day_of_month: z.number().int().min(1).max(31).optional(),
    year: z.number().int().min(1).max(9999).optional(),
    month: z.number().int().min(1).max(12).optional(),
    hour: z.number().int().min(0).max(23).optional(),
    minute: z.number().int().min(0).max(59).optional(),
    calendar: z.string().optional(),
  })
  .refine(
    (d) => d.timestamp !== undefined || (d.year !== undefined && d.month !== undefined && d.day_of_month !== undefined),
    { error: 'needs either a "timestamp" or its parts (at least "year", "month" and "day_of_month")' },
  );

const PARAMETER_TYPES = [
  'text',
  'currency',
  'date_time',
  'image',
  'video',
  'document',
  'location',
  'payload',
  'coupon_code',
];
/** Parameters only a header may carry: media, and a location (EngageLab's Template API lists it as a header format). */
const MEDIA_PARAMETERS = new Set(['image', 'video', 'document', 'location']);

const locationSchema = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().max(1000).optional(),
  address: z.string().max(1000).optional(),
});

export const parameterSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text'), text: z.string().min(1).max(32_768) }),
    z.strictObject({ type: z.literal('currency'), currency: currencySchema }),
    z.strictObject({ type: z.literal('date_time'), date_time: dateTimeSchema }),
    z.strictObject({ type: z.literal('image'), image: imageSchema }),
    z.strictObject({ type: z.literal('video'), video: videoSchema }),
    z.strictObject({ type: z.literal('document'), document: documentSchema }),
    z.strictObject({ type: z.literal('location'), location: locationSchema }),
    // Button parameters of quick-reply and copy-code buttons (WhatsApp's template rules).
    z.strictObject({ type: z.literal('payload'), payload: z.string().min(1) }),
    z.strictObject({ type: z.literal('coupon_code'), coupon_code: z.string().min(1).max(15) }),
  ],
  { error: unionError(`type must be one of ${PARAMETER_TYPES.join(', ')}`) },
);

const BUTTON_SUB_TYPES = ['url', 'quick_reply', 'copy_code', 'flow', 'catalog', 'mpm', 'voice_call'] as const;

export const componentSchema = z
  .strictObject({
    type: z.enum(['header', 'body', 'button'], { error: 'must be "header", "body" or "button"' }),
    sub_type: z.enum(BUTTON_SUB_TYPES, { error: `must be one of ${BUTTON_SUB_TYPES.join(', ')}` }).optional(),
    index: z.union([z.number().int().min(0).max(9), z.string().regex(/^[0-9]$/)]).optional(),
    parameters: z.array(parameterSchema).min(1, { error: 'must have at least one parameter' }),
  })
  .superRefine((component, ctx) => {
    if (component.type !== 'header') {
      component.parameters.forEach((parameter, i) => {
        if (MEDIA_PARAMETERS.has(parameter.type)) {
          ctx.addIssue({
            code: 'custom',
            path: ['parameters', i, 'type'],
            message: `${parameter.type === 'location' ? 'a location parameter' : `media parameter "${parameter.type}"`} is only allowed in the header component, not in "${component.type}"`,
          });
        }
      });
    }
    if (component.type === 'button') {
      // Authentication templates carry the code again in a URL button (seed, Japanese edition).
      if (component.sub_type === undefined) {
        ctx.addIssue({ code: 'custom', path: ['sub_type'], message: 'is required on a button component' });
      }
      if (component.index === undefined) {
        ctx.addIssue({ code: 'custom', path: ['index'], message: 'is required on a button component (0-9)' });
      }
    } else if (component.sub_type !== undefined || component.index !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [component.sub_type !== undefined ? 'sub_type' : 'index'],
        message: 'is only allowed on a button component',
      });
    }
  });

export const templateSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[a-z0-9_]+$/, { error: 'must contain only lowercase letters, digits and "_"' }),
  language: z.string().refine((code) => TEMPLATE_LANGUAGES.has(code), {
    error: (issue) => `"${String(issue.input)}" is not a WhatsApp template language code (e.g. en, en_US, zh_CN)`,
  }),
  components: z.array(componentSchema).optional(),
});

const bodyOf = <T extends MessageType, S extends z.ZodType>(type: T, schema: S) =>
  z.strictObject({ type: z.literal(type), [type]: schema } as { type: z.ZodLiteral<T> } & Record<T, S>);

export const bodySchema = z.discriminatedUnion(
  'type',
  [
    bodyOf('template', templateSchema),
    bodyOf('text', textSchema),
    bodyOf('image', imageSchema),
    bodyOf('audio', audioSchema),
    bodyOf('video', videoSchema),
    bodyOf('document', documentSchema),
    bodyOf('sticker', stickerSchema),
  ],
  { error: unionError(`type must be one of ${MESSAGE_TYPES.join(', ')}`) },
);

const phone = z.string().transform((value, ctx) => {
  const normalised = normalisePhone(value);
  if (normalised === undefined) {
    ctx.addIssue({
      code: 'custom',
      // The seed API sends to phone numbers; an id arrives in callbacks, and is not a recipient here.
      message: looksLikeBsuid(value)
        ? `"${value.slice(0, 40)}" is a business-scoped user id: messages are sent to international phone numbers only`
        : `"${value}" is not an international phone number (country code and number, 7 to 15 digits, optionally starting with + or 00)`,
    });
    return z.NEVER;
  }
  // A number no country has would be a request EngageLab or Meta fails: refuse it here, saying why.
  const problem = phoneProblem(normalised);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" ${problem}` });
    return z.NEVER;
  }
  return normalised;
});

/**
 * The custom_args key wa-bulk sends every message's request_id under (docs/campaigns.md#messages): EngageLab echoes
 * custom_args in its status callbacks, so a callback names its message even when the answer carrying its
 * message_id was lost. A user's custom_args may not use it.
 */
export const REQUEST_ID_ARG = 'wa_bulk_request_id';

/** The request body EngageLab takes (seed: "Request parameters"), what the simulator checks. */
export const requestSchema = z.strictObject({
  from: phone.optional(),
  to: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z
      .array(phone, {
        error: (issue) =>
          issue.input === undefined ? 'is required' : 'must be a phone number or an array of phone numbers',
      })
      .min(1, { error: 'needs at least one recipient' })
      .max(1000, { error: 'has more than 1000 recipients; split the line' })
      .transform((list) => [...new Set(list)]),
  ),
  body: bodySchema,
  request_id: z.string().regex(REQUEST_ID, { error: REQUEST_ID_RULE }).optional(),
  custom_args: z.record(z.string(), z.unknown()).optional(),
});

/** A message as a user gives it: the request body, with custom_args that leave REQUEST_ID_ARG to wa-bulk. */
export const messageSchema = requestSchema.extend({
  custom_args: z
    .record(z.string(), z.unknown())
    .refine((args) => !Object.hasOwn(args, REQUEST_ID_ARG), {
      error: `"${REQUEST_ID_ARG}" is reserved: wa-bulk sends the message's request_id under it; use another name`,
    })
    .optional(),
});

export type MessageInput = z.input<typeof messageSchema>;
export type Message = z.output<typeof messageSchema>;
export type MessageBody = z.output<typeof bodySchema>;
