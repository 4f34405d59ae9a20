import type express from 'express';
import type { Request } from 'express';
import { removeMessage } from '../campaigns/remove-message.js';
import {
  deadLetterEntry,
  deadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  type DeadFilter,
  type MalformedDeadLetter,
} from '../ledger/dead-letters.js';
import { DEAD_REASONS } from '../ledger/reasons.js';
import { campaignId, requestId } from '../messages/ids.js';
import { UsageError } from '../usage-error.js';
import { objectBody, smallJson } from './body.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';

/**
 * What an operator does to messages and dead letters over HTTP, through the ledger (Bull Board shows these
 * queues read-only): remove one waiting message, list, replay and purge dead letters. The same actions as
 * `wa-bulk remove` and `wa-bulk dlq`; the changing routes pass sameOrigin (security.ts).
 */

/** How many dead letters GET /api/dead-letters lists at most, and by default. */
const LIST_MAX = 10_000;
const LIST_DEFAULT = 1000;

/** The dlq filter from a query or a JSON body: each field checked, a bad one named (400). */
export function deadFilterOf(source: Record<string, unknown>, where: string): DeadFilter {
  const filter: DeadFilter = {};
  if (source.campaign !== undefined) filter.campaign = campaignId(String(source.campaign), `${where} campaign`);
  if (source.code !== undefined) {
    const code = Number(source.code);
    if (!Number.isInteger(code) || String(source.code).trim() === '')
      throw new UsageError(
        `${where} code: expected an EngageLab code (an integer), got ${JSON.stringify(source.code)}`,
      );
    filter.code = code;
  }
  if (source.reason !== undefined) {
    if (!(DEAD_REASONS as readonly unknown[]).includes(source.reason))
      throw new UsageError(`${where} reason: expected one of ${DEAD_REASONS.join(', ')}`);
    filter.reason = String(source.reason);
  }
  return filter;
}

function listLimit(req: Request): number {
  const raw = req.query.limit;
  if (raw === undefined) return LIST_DEFAULT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX)
    throw new UsageError(`query limit: expected an integer from 1 to ${LIST_MAX}`);
  return limit;
}

export function messageRoutes(app: express.Express, deps: DashboardDeps): void {
  app.post('/api/messages/:requestId/remove', sameOrigin, smallJson, async (req, res) => {
    const id = requestId(String(req.params.requestId), 'request_id');
    const outcome = await removeMessage(deps.redis, deps.keys, deps.ledger, id);
    if (outcome.removed) res.json(outcome.record);
    else res.status(outcome.state === 'unknown' ? 404 : 409).json({ error: outcome.error, state: outcome.state });
  });

  app.get('/api/dead-letters', async (req, res) => {
    const filter = deadFilterOf(req.query as Record<string, unknown>, 'query');
    const limit = listLimit(req);
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
    const filter = deadFilterOf(objectBody(req), 'body');
    const result = await replayDeadLetters(deps.dead, deps.send, deps.ledger, filter);
    res.json({
      action: 'replay',
      count: result.replayed,
      left_out: result.leftOut,
      already_sent: result.alreadySent,
      malformed: result.malformed,
    });
  });

  app.post('/api/dead-letters/purge', sameOrigin, smallJson, async (req, res) => {
    const filter = deadFilterOf(objectBody(req), 'body');
    const result = await purgeDeadLetters(deps.dead, filter);
    res.json({
      action: 'purge',
      count: result.purged,
      malformed: result.malformed,
      malformed_dropped: result.malformedDropped,
    });
  });
}
