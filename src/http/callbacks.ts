import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import type express from 'express';
import { callbackBatchSchema } from '../engagelab/callbacks.js';
import type { CallbackJob } from '../queue.js';
import type { Logger } from '../log.js';
import { formatIssues } from '../messages/validate.js';
import { BodyError, mediaType, readJson } from './body.js';

/**
 * POST /callbacks/engagelab (or /callbacks/engagelab/<CALLBACK_TOKEN>): EngageLab's status callbacks. With two
 * tokens (rotation), the URL of either is taken.
 * EngageLab sends no credentials and waits at most 3 seconds, so a well-formed batch is put on the
 * `callbacks` queue and answered 200 at once; rows are applied by the callback worker afterwards.
 */

export const MAX_CALLBACK_BYTES = 1024 * 1024;

export function callbackRoutes(
  app: express.Express,
  deps: { token: string | undefined; queue: Queue<CallbackJob>; log: Logger },
): void {
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
    await deps.queue.add('batch', { rows: parsed.data.rows, received_at: Date.now() });
    res.json({ ok: true, rows: parsed.data.rows.length });
  });
}
