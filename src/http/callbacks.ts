import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import type express from 'express';
import type { Redis } from 'ioredis';
import { takeRows } from '../engagelab/callback-rows.js';
import { callbackBatchSchema } from '../engagelab/callbacks.js';
import { UNKNOWN_ROWS_KEPT, UnknownRows } from '../engagelab/unknown-rows.js';
import type { Keys } from '../redis/keys.js';
import { addFleetCounts } from '../status/fleet-stats.js';
import type { CallbackJob } from '../queue.js';
import type { Logger } from '../log.js';
import { formatIssues } from '../messages/validate.js';
import { unknownRowsQuerySchema } from './request-schemas.js';
import { BodyError, mediaType, readJson } from './body.js';
import { parseQuery } from './input.js';

/**
 * POST /callbacks/engagelab (or /callbacks/engagelab/<CALLBACK_TOKEN>): EngageLab's status callbacks. With two
 * tokens (rotation), the URL of either is taken.
 * EngageLab sends no credentials and waits at most 3 seconds, so a body shaped `{"rows": [...]}` is taken row
 * by row (src/engagelab/callback-rows.ts): the rows it understands go on the `callbacks` queue as one job, applied
 * by the callback worker afterwards, the others are kept aside and counted; the answer is 200 at once with both
 * counts. Only a body that is not such an envelope gets a 4xx.
 */

export const MAX_CALLBACK_BYTES = 1024 * 1024;

export function callbackRoutes(
  app: express.Express,
  deps: { token: string | undefined; queue: Queue<CallbackJob>; redis: Redis; keys: Keys; log: Logger },
): void {
  const unknownRows = new UnknownRows(deps.redis, deps.keys.callbacksUnknown);
  // Rows of an unknown shape are logged once a minute at most, with their count only (they may be a flood).
  let unlogged = 0;
  let loggedAt = 0;
  const noteUnknown = (count: number) => {
    unlogged += count;
    if (Date.now() - loggedAt < 60_000) return;
    deps.log.warn({ rows: unlogged }, 'callback rows of an unknown shape kept aside: see "wa-bulk callbacks unknown"');
    unlogged = 0;
    loggedAt = Date.now();
  };
  // Paths compared as digests: the same time whatever a guess's length, and nothing told about the token's.
  const digest = (path: string) => createHash('sha256').update(path).digest();
  const tokens = deps.token ? deps.token.split(',') : [];
  const expected =
    tokens.length > 0 ? tokens.map((t) => digest(`/callbacks/engagelab/${t}`)) : [digest('/callbacks/engagelab')];
  app.post(/^\/callbacks\/engagelab(\/[^/]*)?\/?$/, async (req, res) => {
    const given = digest(req.path.replace(/\/$/, ''));
    // Every expected path is compared, so the time does not say which one matched.
    const matches = expected.map((path) => timingSafeEqual(given, path));
    if (!matches.includes(true)) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    if (mediaType(req.headers['content-type']) !== 'application/json') {
      res.status(415).json({ error: 'Content-Type must be application/json' });
      return;
    }
    let value: unknown;
    try {
      value = await readJson(req, MAX_CALLBACK_BYTES, 'callback body');
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      res.status(error.status).json({ error: error.message });
      if (error.status === 413) req.destroy();
      return;
    }
    const parsed = callbackBatchSchema.safeParse(value);
    if (!parsed.success) {
      res.status(400).json({ error: formatIssues(parsed.error.issues) });
      return;
    }
    const receivedAt = Date.now();
    const { taken, unknown, itimeReplaced } = takeRows(parsed.data.rows, receivedAt);
    const counts = new Map([['callback_rows', parsed.data.rows.length]]);
    if (unknown.length > 0) counts.set('callback_unknown:row', unknown.length);
    if (itimeReplaced > 0) counts.set('callback_itime_replaced', itimeReplaced);
    await Promise.all([
      taken.length > 0 && deps.queue.add('batch', { rows: taken, received_at: receivedAt }),
      unknownRows.keep(unknown),
      addFleetCounts(deps.redis, deps.keys.metrics, counts),
    ]);
    if (unknown.length > 0) noteUnknown(unknown.length);
    res.json({ ok: true, rows: parsed.data.rows.length, taken: taken.length, unknown: unknown.length });
  });
}

/**
 * GET /api/callbacks/unknown[?limit=N] (behind the dashboard's authentication): the callback rows kept aside
 * as of an unknown shape, newest first (at most N, default 100, up to UNKNOWN_ROWS_KEPT).
 */
export function unknownRowRoutes(app: express.Express, deps: { redis: Redis; keys: Keys }): void {
  const unknownRows = new UnknownRows(deps.redis, deps.keys.callbacksUnknown);
  app.get('/api/callbacks/unknown', async (req, res) => {
    const given = parseQuery(unknownRowsQuerySchema, req).limit;
    const limit = given === undefined ? 100 : Number(given);
    const { kept, rows } = await unknownRows.list(Math.min(limit, UNKNOWN_ROWS_KEPT));
    res.json({
      kept,
      rows: rows.map((row) => ({ ...row, received_at: new Date(row.received_at).toISOString() })),
    });
  });
}
