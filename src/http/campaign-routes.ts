import express, { type Request, type Response } from 'express';
import { Campaigns } from '../campaigns/campaigns.js';
import { campaignId, noCampaign } from '../messages/ids.js';
import { collectStatus } from '../status/status.js';
import { Suppressions } from '../recipients/suppressions.js';
import { campaignsPage } from './campaigns-page.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';

/**
 * Campaign control over HTTP (behind the dashboard's authentication): the campaigns page, the list, pause,
 * resume and cancel, and the suppression list. A GET never changes anything; the changing routes pass
 * sameOrigin (security.ts).
 */

const MAX_SUPPRESSION_BODY = 1000;

export function campaignRoutes(app: express.Express, deps: DashboardDeps): void {
  const campaigns = new Campaigns(deps.redis, deps.keys);
  const suppressions = new Suppressions(deps.redis, deps.keys);
  const json = (req: Request) =>
    typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  const known = async (req: Request, res: Response): Promise<string | undefined> => {
    const id = campaignId(String(req.params.id), 'campaign id');
    if (!(await deps.ledger.campaign(id))) {
      res.status(404).json({ error: noCampaign(id, '"GET /api/campaigns"') });
      return undefined;
    }
    return id;
  };
  const body = express.json({ limit: '1mb' });

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

  app.post('/api/campaigns/:id/pause', sameOrigin, body, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const reason =
      typeof json(req).reason === 'string' ? String(json(req).reason).slice(0, 500) : 'paused by an operator';
    await campaigns.pause(id, reason);
    res.json(await deps.ledger.campaign(id));
  });

  app.post('/api/campaigns/:id/resume', sameOrigin, body, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const promoted = await campaigns.resume(id);
    res.json({ ...(await deps.ledger.campaign(id)), resumed: promoted });
  });

  app.post('/api/campaigns/:id/cancel', sameOrigin, body, async (req, res) => {
    const id = await known(req, res);
    if (!id) return;
    const skipped = await campaigns.cancel(id, deps.ledger);
    res.json({ ...(await deps.ledger.campaign(id)), skipped_now: skipped });
  });

  app.get('/api/suppressions', async (req, res) => {
    const number = typeof req.query.number === 'string' ? req.query.number : undefined;
    if (number !== undefined) {
      const { numbers, invalid } = Suppressions.normalise([number]);
      if (invalid !== undefined) {
        res.status(400).json({ error: `number: "${invalid}" is not an international phone number` });
        return;
      }
      res.json({ number: numbers[0], suppressed: await suppressions.has(numbers[0] as string) });
      return;
    }
    const numbers: string[] = [];
    for await (const page of suppressions.list()) {
      numbers.push(...page);
      if (numbers.length >= 10_000) break;
    }
    res.json({ count: await suppressions.count(), numbers: numbers.slice(0, 10_000) });
  });

  const change = (action: 'add' | 'remove') => async (req: Request, res: Response) => {
    const given = json(req).numbers;
    if (
      !Array.isArray(given) ||
      given.length === 0 ||
      given.length > MAX_SUPPRESSION_BODY ||
      !given.every((n) => typeof n === 'string')
    ) {
      res.status(400).json({
        error: `body must be {"numbers": [...]} with 1 to ${MAX_SUPPRESSION_BODY} numbers as strings (use "wa-bulk suppress import" for more)`,
      });
      return;
    }
    const { numbers, invalid } = Suppressions.normalise(given as string[]);
    if (invalid !== undefined) {
      res
        .status(400)
        .json({ error: `numbers: "${invalid}" is not an international phone number (country code and number)` });
      return;
    }
    const count = action === 'add' ? await suppressions.add(numbers) : await suppressions.remove(numbers);
    res.json({ [action === 'add' ? 'added' : 'removed']: count, total: await suppressions.count() });
  };
  app.post('/api/suppressions', sameOrigin, body, change('add'));
  app.delete('/api/suppressions', sameOrigin, body, change('remove'));
}
