import type express from 'express';
import { removeMessage } from '../campaigns/remove-message.js';
import {
  deadLetterEntry,
  deadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  replayRefusal,
  type DeadFilter,
  type MalformedDeadLetter,
} from '../ledger/dead-letters.js';
import { requestId } from '../messages/ids.js';
import { deadFilterBodySchema, deadFilterQuerySchema, emptyBodySchema } from './request-schemas.js';
import { smallJson } from './body.js';
import type { DashboardDeps } from './deps.js';
import { parseBody, parseQuery } from './input.js';
import { sameOrigin } from './security.js';

/**
 * What an operator does to messages and dead letters over HTTP, through the ledger (Bull Board shows these
 * queues read-only): remove one waiting message, list, replay and purge dead letters. The same actions as
 * `wa-bulk remove` and `wa-bulk dlq`; the changing routes pass sameOrigin (security.ts).
 */

/** How many dead letters GET /api/dead-letters lists by default (its schema allows up to 10,000). */
const LIST_DEFAULT = 1000;

/** The dlq filter of a parsed query or body (request-schemas.ts checked each field). */
function deadFilterOf(source: { campaign?: string; code?: number | string; reason?: string }): DeadFilter {
  const filter: DeadFilter = {};
  if (source.campaign !== undefined) filter.campaign = source.campaign;
  if (source.code !== undefined) filter.code = Number(source.code);
  if (source.reason !== undefined) filter.reason = source.reason;
  return filter;
}

export function messageRoutes(app: express.Express, deps: DashboardDeps): void {
  app.post('/api/messages/:requestId/remove', sameOrigin, smallJson, async (req, res) => {
    const id = requestId(String(req.params.requestId), 'request_id');
    parseBody(emptyBodySchema, req);
    const outcome = await removeMessage(deps.redis, deps.keys, deps.ledger, id);
    if (outcome.removed) res.json(outcome.record);
    else res.status(outcome.state === 'unknown' ? 404 : 409).json({ error: outcome.error, state: outcome.state });
  });

  app.get('/api/dead-letters', async (req, res) => {
    const query = parseQuery(deadFilterQuerySchema, req, 'query ');
    const filter = deadFilterOf(query);
    const limit = query.limit === undefined ? LIST_DEFAULT : Number(query.limit);
    const listed = [];
    const malformed: MalformedDeadLetter[] = [];
    let truncated = false;
    for await (const job of deadLetters(deps.dead, filter, { onMalformed: (m) => malformed.push(m) })) {
      if (listed.length >= limit) {
        truncated = true;
        break;
      }
      listed.push(deadLetterEntry(job.data));
    }
    res.json({ dead_letters: listed, truncated, malformed });
  });

  app.post('/api/dead-letters/replay', sameOrigin, smallJson, async (req, res) => {
    const filter = deadFilterOf(parseBody(deadFilterBodySchema, req, 'body '));
    const result = await replayDeadLetters(deps.dead, deps.send, deps.ledger, filter);
    if (result.refused) {
      res.status(409).json({ error: replayRefusal(result.refused.campaign), ...result.refused });
      return;
    }
    res.json({
      action: 'replay',
      count: result.replayed,
      left_out: result.leftOut,
      left_out_by: result.leftOutBy,
      already_sent: result.alreadySent,
      malformed: result.malformed,
    });
  });

  app.post('/api/dead-letters/purge', sameOrigin, smallJson, async (req, res) => {
    const filter = deadFilterOf(parseBody(deadFilterBodySchema, req, 'body '));
    const result = await purgeDeadLetters(deps.dead, filter);
    res.json({
      action: 'purge',
      count: result.purged,
      malformed: result.malformed,
      malformed_dropped: result.malformedDropped,
    });
  });
}
