import type { Queue } from 'bullmq';
import type express from 'express';
import {
  createFollowup,
  followupInput,
  FOLLOWUP_FIELDS,
  sourceKeptMs,
  templateLookup,
} from '../../producers/followups.js';
import { cancelRefused, cannotShow, Followups, type InvalidFollowup } from '../campaigns/followups.js';
import { resultTtlSeconds } from '../config.js';
import { FOLLOWUP_QUEUE, withQueue, type FollowupJob } from '../queue.js';
import { actorOf } from './access.js';
import { smallJson } from './body.js';
import { parseBody, parseQuery } from './input.js';
import { emptyBodySchema, followupBodySchema, followupQuerySchema } from './request-schemas.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';

/**
 * Follow-up rules over HTTP, as `wa-bulk followup` makes, lists and cancels them (docs/campaigns.md#follow-ups).
 * A bad field is a 400 naming it (the checks are the command line's, producers/followups.ts); an unknown
 * source campaign or rule a 404; a rule that cannot be cancelled (done, cancelled, or being evaluated) a 409 with
 * its state; a stored rule that cannot be shown a 409 with what is wrong, as the listing's `invalid` names it.
 */
export function followupRoutes(app: express.Express, deps: DashboardDeps): void {
  const followups = new Followups(deps.redis, deps.keys, resultTtlSeconds(deps.config) * 1000);
  // A queue handle per change: rules are made and cancelled by hand, and the app keeps no handle to close.
  const withFollowupQueue = <R>(fn: (queue: Queue<FollowupJob>) => Promise<R>) =>
    withQueue<FollowupJob, R>(deps.redis, deps.config.QUEUE_PREFIX, FOLLOWUP_QUEUE, fn);
  const actor = (res: express.Response) => actorOf(res)?.name ?? 'dashboard';

  app.get('/api/followups', async (req, res) => {
    const { from } = parseQuery(followupQuerySchema, req, 'query ');
    const invalid: InvalidFollowup[] = [];
    res.json({ followups: await followups.list(from, invalid), invalid });
  });
  app.post('/api/followups', sameOrigin, smallJson, async (req, res) => {
    const input = followupInput(parseBody(followupBodySchema, req), FOLLOWUP_FIELDS);
    const created = await withFollowupQueue((queue) =>
      createFollowup(input, {
        ledger: deps.ledger,
        followups,
        queue,
        actor: actor(res),
        keptMs: sourceKeptMs(deps.config),
        preflight: templateLookup(deps.config),
      }),
    );
    if (created.ok) res.status(201).json({ ...created.followup, warnings: created.warnings });
    else res.status(created.status).json({ error: created.status === 404 ? `from: ${created.error}` : created.error });
  });
  app.get('/api/followups/:id', async (req, res) => {
    const id = String(req.params.id);
    const row = await followups.read(id);
    if (!row) res.status(404).json({ error: `no follow-up rule "${id}"` });
    else if ('rule' in row) res.json(row.rule);
    // Stored, and listed under `invalid` by GET /api/followups: not "no such rule", and it can still be cancelled.
    else res.status(409).json({ error: cannotShow(row, `POST /api/followups/${id}/cancel`), ...row });
  });
  app.post('/api/followups/:id/cancel', sameOrigin, smallJson, async (req, res) => {
    parseBody(emptyBodySchema, req);
    const id = String(req.params.id);
    const outcome = await followups.cancel(id, actor(res));
    if (outcome.cancelled) {
      // Its job would find it cancelled and do nothing; removing it keeps the delayed set short.
      await withFollowupQueue((queue) => queue.remove(id).catch(() => 0));
      // A rule that cannot be shown is answered as the listing's `invalid` names it, now cancelled.
      const row = await followups.read(id);
      res.json(row && 'rule' in row ? row.rule : row);
    } else if (outcome.state === undefined) res.status(404).json({ error: `no follow-up rule "${id}"` });
    else res.status(409).json({ error: cancelRefused(id, outcome.state), state: outcome.state });
  });
}
