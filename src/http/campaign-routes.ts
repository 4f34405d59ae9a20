import type express from 'express';
import type { Request, Response } from 'express';
import { Campaigns } from '../campaigns/campaigns.js';
import { campaignId, noCampaign } from '../messages/ids.js';
import { collectStatus } from '../status/status.js';
import { campaignsPage } from './campaigns-page.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';
import { objectBody, smallJson } from './body.js';

/**
 * Campaign control over HTTP (behind the dashboard's authentication): the campaigns page, the list, pause,
 * resume and cancel. A GET never changes anything; the changing routes pass
 * sameOrigin (security.ts).
 */

export function campaignRoutes(app: express.Express, deps: DashboardDeps): void {
  const campaigns = new Campaigns(deps.redis, deps.keys);
  const known = async (req: Request, res: Response): Promise<string | undefined> => {
    const id = campaignId(String(req.params.id), 'campaign id');
    if (!(await deps.ledger.campaign(id))) {
      res.status(404).json({ error: noCampaign(id, '"GET /api/campaigns"') });
      return undefined;
    }
    return id;
  };

  app.get('/campaigns', (_req, res) => {
    res.set('Content-Type', 'text/html; charset=utf-8').set('Cache-Control', 'no-store').send(campaignsPage());
  });

  app.get('/api/campaigns', async (_req, res) => {
    const list = [];
    // The page refreshes itself: the newest 50 campaigns only the long-term ledger holds, not its history.
    for await (const campaign of deps.ledger.campaigns(200, 50)) {
      list.push(campaign);
      if (list.length >= 500) break;
    }
    const status = await collectStatus(deps);
    res.json({
      campaigns: list,
      paused: status.paused,
      pause_reason: status.pause_reason,
      senders: status.senders,
      messaging_limit: status.messaging_limit,
      dead: status.dead,
    });
  });

  app.post('/api/campaigns/:id/pause', sameOrigin, smallJson, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const reason =
      typeof objectBody(req).reason === 'string'
        ? String(objectBody(req).reason).slice(0, 500)
        : 'paused by an operator';
    await campaigns.pause(id, reason);
    res.json(await deps.ledger.campaign(id));
  });

  app.post('/api/campaigns/:id/resume', sameOrigin, smallJson, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const promoted = await campaigns.resume(id);
    res.json({ ...(await deps.ledger.campaign(id)), resumed: promoted });
  });

  app.post('/api/campaigns/:id/cancel', sameOrigin, smallJson, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const skipped = await campaigns.cancel(id, deps.ledger);
    res.json({ ...(await deps.ledger.campaign(id)), skipped_now: skipped });
  });
}
