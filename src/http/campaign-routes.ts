import type express from 'express';
import type { Request, Response } from 'express';
import { AuditLog, CAMPAIGN_ACTIONS } from '../access/audit.js';
import { resultTtlSeconds } from '../config.js';
import { Campaigns } from '../campaigns/campaigns.js';
import { deadLetters } from '../ledger/dead-letters.js';
import { messageLines, rejectLines, type ExportFormat } from '../ledger/export-lines.js';
import { campaignId, noCampaign } from '../messages/ids.js';
import { collectStatus } from '../status/status.js';
import { UsageError } from '../usage-error.js';
import { campaignsPage, type CampaignsOverview } from './campaigns-page.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';
import { actorOf } from './access.js';
import { objectBody, smallJson } from './body.js';

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
    campaigns: list.map((c) => ({ ...c, parked: parkedByCampaign.get(c.id) ?? 0 })),
    paused: status.paused,
    pause_reason: status.pause_reason,
    senders: status.senders.map((s) => ({ ...s, parked: Math.min(s.waiting, parkedByLane.get(s.from) ?? 0) })),
    messaging_limit: status.messaging_limit,
    dead: status.dead,
  };
}

/** The `format` query parameter of an export: `jsonl` (the default) or `csv`. */
function formatOf(req: Request): ExportFormat {
  const format = req.query.format ?? 'jsonl';
  if (format === 'jsonl' || format === 'csv') return format;
  throw new UsageError(`format: expected "jsonl" or "csv", got ${JSON.stringify(format)}`);
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
      .send(campaignsPage(await overview(deps), await audit.latestByTarget(CAMPAIGN_ACTIONS)));
  });

  app.get('/api/campaigns', async (_req, res) => {
    res.json(await overview(deps));
  });

  app.get('/api/campaigns/:id/export', async (req, res) => {
    const format = formatOf(req);
    const id = await known(req, res);
    if (!id) return;
    res
      .set('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${id}.${format}"`)
      .set('Cache-Control', 'no-store');
    await stream(res, messageLines(deps.ledger.export(id), format));
  });

  app.get('/api/campaigns/:id/rejects', async (req, res) => {
    const id = campaignId(String(req.params.id), 'campaign id');
    const format = formatOf(req);
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
    const id = await known(req, res);
    if (!id) return;
    const reason =
      typeof objectBody(req).reason === 'string'
        ? String(objectBody(req).reason).slice(0, 500)
        : 'paused by an operator';
    await campaigns.pause(id, reason, actorOf(res)?.name ?? 'dashboard');
    res.json(await deps.ledger.campaign(id));
  });

  app.post('/api/campaigns/:id/resume', sameOrigin, smallJson, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const promoted = await campaigns.resume(id, actorOf(res)?.name ?? 'dashboard');
    res.json({ ...(await deps.ledger.campaign(id)), resumed: promoted });
  });

  app.post('/api/campaigns/:id/cancel', sameOrigin, smallJson, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const skipped = await campaigns.cancel(id, deps.ledger, actorOf(res)?.name ?? 'dashboard');
    res.json({ ...(await deps.ledger.campaign(id)), skipped_now: skipped });
  });
}
