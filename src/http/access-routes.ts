import type express from 'express';
import type { Request, Response } from 'express';
import { KeyError, describeKey, parseKeyDuration, parseRate } from '../access/keys.js';
import { isRole, ROLES } from '../access/roles.js';
import { CampaignOptionError } from '../campaigns/options.js';
import type { AccessControl } from './access.js';
import { actorOf } from './access.js';
import { objectBody, smallJson } from './body.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';
import { readAudit } from '../access/audit-read.js';
import { parseSince } from '../campaigns/options.js';
import { CAMPAIGN_ACTIONS } from '../access/audit.js';

/**
 * Keys and the audit log over HTTP (admin only, see route-roles.ts): list, create, roll and revoke keys
 * (a new key is in the answer once, and nowhere else), and read the audit log.
 */

/** The changes the campaigns page names beside a campaign: "paused by crm at 10:02". */

const optionalString = (body: Record<string, unknown>, field: string): string | undefined => {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KeyError(`${field}: expected a string`, 400);
  return value;
};

const durationOf = (text: string | undefined, field: string, zero = false): number | undefined =>
  text === undefined ? undefined : parseKeyDuration(text, field, zero);

export function accessRoutes(app: express.Express, deps: DashboardDeps, access: AccessControl): void {
  const { keys, audit } = access;
  const by = (res: Response) => actorOf(res)?.name ?? 'dashboard';
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (error) {
        if (!(error instanceof KeyError)) throw error;
        res.status(error.status).json({ error: error.message });
      }
    };

  app.get('/api/keys', async (_req, res) => {
    const now = Date.now();
    res.json({ keys: (await keys.list()).map((record) => describeKey(record, now)) });
  });

  app.post(
    '/api/keys',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      const body = objectBody(req);
      const role = body.role;
      if (!isRole(role)) throw new KeyError(`role: expected ${ROLES.join(', ')}`, 400);
      const rate = optionalString(body, 'rate');
      const created = await keys.create({
        name: optionalString(body, 'name') ?? '',
        role,
        expiresInMs: durationOf(optionalString(body, 'expires_in'), 'expires_in'),
        ...(rate !== undefined && { rate: parseRate(rate, 'rate') }),
        by: by(res),
      });
      res.status(201).json(created);
    }),
  );

  app.post(
    '/api/keys/:name/roll',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      const body = objectBody(req);
      const rolled = await keys.roll(String(req.params.name), {
        overlapMs: durationOf(optionalString(body, 'overlap'), 'overlap', true) ?? 3_600_000,
        expiresInMs: durationOf(optionalString(body, 'expires_in'), 'expires_in'),
        by: by(res),
      });
      res.status(201).json(rolled);
    }),
  );

  app.delete(
    '/api/keys/:name',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      const name = String(req.params.name);
      res.json({ name, revoked: await keys.revoke(name) });
    }),
  );

  app.get('/api/audit', async (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    let since: number | undefined;
    try {
      const text = q('since');
      since = text === undefined ? undefined : parseSince(text, 'since');
    } catch (error) {
      if (!(error instanceof CampaignOptionError)) throw error;
      res.status(400).json({ error: error.message });
      return;
    }
    const limitText = q('limit');
    if (limitText !== undefined && !/^[1-9]\d{0,4}$/.test(limitText)) {
      res.status(400).json({ error: `limit: expected an integer from 1 to 99999, got "${limitText.slice(0, 40)}"` });
      return;
    }
    const entries = await readAudit(audit, deps.ledger.longTerm?.store, {
      since,
      actor: q('actor'),
      target: q('target'),
      limit: limitText === undefined ? 1000 : Number(limitText),
    });
    res.json({ entries });
  });

  app.get('/api/audit/campaigns', async (_req, res) => {
    res.json({ campaigns: await audit.latestByTarget(CAMPAIGN_ACTIONS) });
  });
}
