import { z } from 'zod';
import * as api from '../api-schemas.js';
import { emptyBodySchema, followupBodySchema, followupQuerySchema } from '../request-schemas.js';
import { type RouteDoc, json, error, NOT_JSON, BAD_REQUEST, TOO_LARGE } from './shared.js';

const rule = z.object({ id: z.string().meta({ description: "the rule's id", example: 'fu_3k9x0a1b2c' }) });
const UNKNOWN_RULE = error('no follow-up rule with this id (or one done or cancelled longer ago than RESULT_TTL_DAYS)');

/** Follow-up rules (docs/campaigns.md#follow-ups). */
export const FOLLOWUP_ROUTES: readonly RouteDoc[] = [
  {
    id: 'listFollowups',
    method: 'get',
    path: '/api/followups',
    tag: 'campaigns',
    summary: 'List follow-up rules',
    description: 'Every rule kept, oldest first, as `wa-bulk followup list --json`.',
    query: followupQuerySchema,
    responses: { 200: json('the rules', api.followupsSchema), 400: BAD_REQUEST },
  },
  {
    id: 'createFollowup',
    method: 'post',
    path: '/api/followups',
    tag: 'campaigns',
    summary: 'Make a follow-up rule',
    description:
      'As `wa-bulk followup`: when it comes due, every recipient of `from` whose message matches `where`, and ' +
      'who is not opted out nor (for a marketing template) held back by marketing fatigue, gets one message of ' +
      '`campaign` with the original custom_args. Give `after` or ' +
      '`at`, and `template` with `language` (and `params`) or `text`.',
    body: { 'application/json': followupBodySchema },
    responses: {
      201: json('the rule, scheduled, with its warnings', api.followupCreatedSchema),
      400: BAD_REQUEST,
      404: error('no such source campaign'),
      409: error('1,000 rules are scheduled or evaluating (cancel some), or 10,000 are kept'),
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
  {
    id: 'getFollowup',
    method: 'get',
    path: '/api/followups/{id}',
    tag: 'campaigns',
    summary: 'Read a follow-up rule',
    description:
      'A stored rule that cannot be shown (one `GET /api/followups` names under `invalid`) answers 409 with ' +
      'what is wrong; it can still be cancelled.',
    path_params: rule,
    responses: {
      200: json('the rule', api.followupSchema),
      404: UNKNOWN_RULE,
      409: json(
        'the rule is stored but cannot be shown (a time or message written before they were checked): `problem` ' +
          'says what is wrong, `state` is as stored',
        api.followupInvalidSchema,
      ),
    },
  },
  {
    id: 'cancelFollowup',
    method: 'post',
    path: '/api/followups/{id}/cancel',
    tag: 'campaigns',
    summary: 'Cancel a follow-up rule',
    description:
      'As `wa-bulk followup cancel`: a scheduled rule sends nothing more, nor does one left evaluating that no ' +
      'worker runs now (its evaluation failed and waits to be tried again, or its worker died).',
    path_params: rule,
    body: { 'application/json': emptyBodySchema },
    responses: {
      200: json(
        'the rule, now cancelled; a stored rule that cannot be shown answers `{id, state, problem}` as ' +
          '`GET /api/followups` lists it under `invalid`, its state now `cancelled`',
        api.followupCancelledSchema,
      ),
      404: UNKNOWN_RULE,
      409: json(
        'the rule is being evaluated by a worker now, done or cancelled already: `state` says which',
        api.followupCancelRefusedSchema,
      ),
      400: BAD_REQUEST,
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
];
