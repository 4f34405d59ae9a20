import type express from 'express';
import type { Request, Response } from 'express';
import { AuditLog, CAMPAIGN_ACTIONS } from '../access/audit.js';
import { resultTtlSeconds } from '../config.js';
import { Campaigns, pauseRefusal } from '../campaigns/campaigns.js';
import { deadLetters } from '../ledger/dead-letters.js';
import { messageLines, rejectLines, type ExportFormat } from '../ledger/export-lines.js';
import { audienceLines, filtered, matches, outcomeFilterOf } from '../ledger/outcomes.js';
import type { MessageRecord } from '../ledger/records.js';
import { campaignId, noCampaign } from '../messages/ids.js';
import { collectStatus } from '../status/status.js';
import { UsageError } from '../usage-error.js';
import { campaignsPage, type CampaignsOverview } from './campaigns-page.js';
import { Followups } from '../campaigns/followups.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';
import { actorOf } from './access.js';
import { smallJson } from './body.js';
import {
  emptyBodySchema,
  exportQuerySchema,
  messagesQuerySchema,
  pauseBodySchema,
  rejectsQuerySchema,
} from './request-schemas.js';
import { parseBody, parseQuery } from './input.js';
import { withRests } from '../status/resting.js';

/**
 * Campaign control over HTTP (behind the dashboard's authentication): the campaigns page, the list, a
 * campaign's export, dead letters and rejected lines, pause, resume and cancel. A GET never changes anything;
 * the changing routes pass sameOrigin (security.ts).
 */

/** A campaign's dead letters listed at most (the CLI's `dlq list --campaign` lists them all). */
const DEAD_LETTERS_LISTED = 1000;

/** What the campaigns page shows and GET /api/campaigns answers. */
async function overview(deps: DashboardDeps): Promise<CampaignsOverview> {
  const list = [];
  // The page refreshes itself: the newest 50 campaigns only the long-term ledger holds, not its history.
  for await (const campaign of deps.ledger.campaigns(200, 50)) {
    list.push(campaign);
    if (list.length >= 500) break;
  }
  // A paused campaign's parked jobs are delayed jobs of its lanes' queues, which a lane's `waiting` counts.
  const campaigns = new Campaigns(deps.redis, deps.keys);
  const parkedByCampaign = new Map<string, number>();
  const parkedByLane = new Map<string, number>();
  for (const c of list) {
    if (c.state !== 'paused') continue;
    const { count, byLane } = await campaigns.parked(c.id);
    parkedByCampaign.set(c.id, count);
    for (const [lane, n] of byLane) parkedByLane.set(lane, (parkedByLane.get(lane) ?? 0) + n);
  }
  const status = await collectStatus(deps);
  return {
    campaigns: (await withRests(deps, list)).map((c) => ({ ...c, parked: parkedByCampaign.get(c.id) ?? 0 })),
    paused: status.paused,
    pause_reason: status.pause_reason,
    senders: status.senders.map((s) => ({ ...s, parked: Math.min(s.waiting, parkedByLane.get(s.from) ?? 0) })),
    messaging_limit: status.messaging_limit,
    dead: status.dead,
  };
}

/** GET /api/campaigns/:id/messages: messages a page by default and at most; records looked at per request at most. */
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
const SCAN_MAX = 10_000;

/**
 * A page's cursor: the ledger position (enqueue order) the next page starts at, opaque to clients. A cursor
 * that is not one this route gave is a 400.
 */
const cursorOf = (at: number) => Buffer.from(`p${at}`).toString('base64url');
function positionOf(raw: unknown): number {
  const text = typeof raw === 'string' ? Buffer.from(raw, 'base64url').toString() : '';
  if (!/^p(0|[1-9][0-9]{0,14})$/.test(text))
    throw new UsageError('query cursor: not a cursor this API gave (use the next_cursor of the previous page)');
  return Number(text.slice(1));
}

/**
 * Writes lines to the response as they come, waiting while the client is slower. A read that fails once the
 * answer has begun cuts it off (the client sees an incomplete download, not a complete-looking one).
 */
async function stream(res: Response, lines: AsyncIterable<string> | Iterable<string>): Promise<void> {
  try {
    for await (const line of lines) {
      if (res.destroyed) return;
      if (!res.write(`${line}\n`)) await new Promise((resolve) => res.once('drain', resolve));
    }
  } catch (error) {
    if (res.headersSent) res.destroy();
    throw error;
  }
  res.end();
}

/**
 * The campaign object as `GET /api/campaigns/:id` answers it, undefined for an unknown campaign. `paused` while
 * a pause is in force on it (even once its messages have all ended, as when the last one finished after the
 * pause: those enqueued later wait) or on the whole fleet; the reason says which.
 */
export async function campaignView(deps: DashboardDeps, id: string) {
  const status = await collectStatus(deps, id);
  const c = status.campaign;
  if (!c) return undefined;
  return {
    ...c,
    paused: c.pause_reason !== null || status.paused,
    pause_reason: c.pause_reason ?? status.pause_reason,
  };
}

export function campaignRoutes(app: express.Express, deps: DashboardDeps): void {
  const campaigns = new Campaigns(deps.redis, deps.keys);
  const audit = new AuditLog(deps.redis, deps.keys, resultTtlSeconds(deps.config) * 1000);
  const known = async (req: Request, res: Response): Promise<string | undefined> => {
    const id = campaignId(String(req.params.id), 'campaign id');
    if (!(await deps.ledger.campaign(id))) {
      res.status(404).json({ error: noCampaign(id, '"GET /api/campaigns"') });
      return undefined;
    }
    return id;
  };

  app.get('/campaigns', async (_req, res) => {
    res
      .set('Content-Type', 'text/html; charset=utf-8')
      .set('Cache-Control', 'no-store')
      .send(
        campaignsPage(
          await overview(deps),
          await audit.latestByTarget(CAMPAIGN_ACTIONS),
          Date.now(),
          await new Followups(deps.redis, deps.keys, resultTtlSeconds(deps.config) * 1000).list(),
        ),
      );
  });

  app.get('/api/campaigns', async (_req, res) => {
    res.json(await overview(deps));
  });

  app.get('/api/campaigns/:id/export', async (req, res) => {
    const query = parseQuery(exportQuerySchema, req);
    const audience = query.format === 'audience';
    const format: ExportFormat = query.format === 'csv' || audience ? 'csv' : 'jsonl';
    const filter = outcomeFilterOf(query, (field) => `query ${field}`);
    const id = await known(req, res);
    if (!id) return;
    res
      .set('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${id}${audience ? '-audience' : ''}.${format}"`)
      .set('Cache-Control', 'no-store');
    const messages = () => filtered(deps.ledger.export(id), filter);
    await stream(res, audience ? audienceLines(messages) : messageLines(messages(), format));
  });

  // In ledger (enqueue) order, or newest first with order=newest; a page looks at SCAN_MAX records at most, so
  // with a narrow filter it may hold fewer than `limit` messages (even none) and still have a next_cursor.
  app.get('/api/campaigns/:id/messages', async (req, res) => {
    const query = parseQuery(messagesQuerySchema, req, 'query ');
    const filter = outcomeFilterOf(query, (field) => `query ${field}`);
    const limit = query.limit === undefined ? PAGE_DEFAULT : Number(query.limit);
    const newest = query.order === 'newest';
    const start = query.cursor === undefined ? undefined : positionOf(query.cursor);
    const id = await known(req, res);
    if (!id) return;
    const messages: MessageRecord[] = [];
    let next: number | null = null;
    const batch = Math.min(PAGE_MAX, SCAN_MAX);
    const entries = newest
      ? deps.ledger.entriesNewestFirst(id, start, batch)
      : deps.ledger.entries(id, start ?? 0, batch);
    let looked = 0;
    for await (const { at, record } of entries) {
      if (messages.length >= limit || looked >= SCAN_MAX) {
        next = at;
        break;
      }
      looked++;
      if (matches(record, filter)) messages.push(record);
    }
    res.set('Cache-Control', 'no-store').json({
      campaign: id,
      messages,
      next_cursor: next === null ? null : cursorOf(next),
    });
  });

  app.get('/api/campaigns/:id/timeline', async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    res
      .set('Cache-Control', 'no-store')
      .json({ campaign: id, minute_ms: 60_000, points: await deps.ledger.timeline(id) });
  });

  app.get('/api/campaigns/:id/rejects', async (req, res) => {
    const id = campaignId(String(req.params.id), 'campaign id');
    const format = parseQuery(rejectsQuerySchema, req).format ?? 'jsonl';
    const [counts, rejects] = await Promise.all([deps.ledger.campaign(id), deps.ledger.rejects.list(id)]);
    if (!counts && rejects.length === 0) {
      res.status(404).json({ error: noCampaign(id, '"GET /api/campaigns"') });
      return;
    }
    if (format === 'csv') {
      res
        .set('Content-Type', 'text/csv; charset=utf-8')
        .set('Content-Disposition', `attachment; filename="${id}-rejected.csv"`);
      await stream(res, rejectLines(rejects, 'csv'));
      return;
    }
    res.json({ campaign: id, rejected: counts?.rejected ?? rejects.length, rejects });
  });

  app.get('/api/campaigns/:id/dead-letters', async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const listed = [];
    let more = false;
    for await (const job of deadLetters(deps.dead, { campaign: id })) {
      if (listed.length >= DEAD_LETTERS_LISTED) {
        more = true;
        break;
      }
      const d = job.data;
      listed.push({
        request_id: d.request_id,
        to: d.payload.to[0] ?? '',
        error: d.error,
        attempts: d.attempts,
        died_at: new Date(d.died_at).toISOString(),
      });
    }
    res.json({ campaign: id, dead_letters: listed, truncated: more });
  });

  app.post('/api/campaigns/:id/pause', sameOrigin, smallJson, async (req, res) => {
    const given = parseBody(pauseBodySchema, req).reason;
    const id = await known(req, res);
    if (!id) return;
    const reason = given === undefined ? 'paused by an operator' : given.slice(0, 500);
    const current = await deps.ledger.campaign(id);
    const refusal = current && pauseRefusal(current);
    if (refusal) {
      res.status(409).json({ error: refusal.error, campaign: id, state: refusal.state });
      return;
    }
    await campaigns.pause(id, reason, actorOf(res)?.name ?? 'dashboard');
    res.json(await campaignView(deps, id));
  });

  app.post('/api/campaigns/:id/resume', sameOrigin, smallJson, async (req, res) => {
    parseBody(emptyBodySchema, req);
    const id = await known(req, res);
    if (!id) return;
    const promoted = await campaigns.resume(id, actorOf(res)?.name ?? 'dashboard');
    res.json({ ...(await deps.ledger.campaign(id)), resumed: promoted });
  });

  app.post('/api/campaigns/:id/cancel', sameOrigin, smallJson, async (req, res) => {
    parseBody(emptyBodySchema, req);
    const id = await known(req, res);
    if (!id) return;
    const skipped = await campaigns.cancel(id, deps.ledger, actorOf(res)?.name ?? 'dashboard');
    res.json({ ...(await deps.ledger.campaign(id)), skipped_now: skipped });
  });
}
