import type express from 'express';
import type { Request, Response } from 'express';
import { KeyError, describeKey, parseKeyDuration, parseRate } from '../access/keys.js';
import { CampaignOptionError } from '../campaigns/options.js';
import type { AccessControl } from './access.js';
import { actorOf } from './access.js';
import { auditQuerySchema, createKeyBodySchema, rollKeyBodySchema } from './admin-schemas.js';
import { smallJson } from './body.js';
import { emptyBodySchema } from './request-schemas.js';
import type { DashboardDeps } from './deps.js';
import { parseBody, parseQuery } from './input.js';
import { sameOrigin } from './security.js';
import { readAudit } from '../access/audit-read.js';
import { parseSince } from '../campaigns/options.js';
import { CAMPAIGN_ACTIONS } from '../access/audit.js';

/**
 * Keys and the audit log over HTTP (admin only, see route-roles.ts): list, create, roll and revoke keys
 * (a new key is in the answer once, and nowhere else), and read the audit log.
 */

// A number in a body is read as its text (admin-schemas.ts): overlap 0 is "0", rate 20 is "20".
const durationOf = (given: string | number | undefined, field: string, zero = false): number | undefined =>
  given === undefined ? undefined : parseKeyDuration(String(given), field, zero);

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
      const body = parseBody(createKeyBodySchema, req);
      const created = await keys.create({
        name: body.name,
        role: body.role,
        expiresInMs: durationOf(body.expires_in, 'expires_in'),
        ...(body.rate !== undefined && { rate: parseRate(String(body.rate), 'rate') }),
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
      const body = parseBody(rollKeyBodySchema, req);
      const rolled = await keys.roll(String(req.params.name), {
        overlapMs: durationOf(body.overlap, 'overlap', true) ?? 3_600_000,
        expiresInMs: durationOf(body.expires_in, 'expires_in'),
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
      parseBody(emptyBodySchema, req);
      const name = String(req.params.name);
      res.json({ name, revoked: await keys.revoke(name) });
    }),
  );

  app.get('/api/audit', async (req, res) => {
    const query = parseQuery(auditQuerySchema, req);
    let since: number | undefined;
    try {
      since = query.since === undefined ? undefined : parseSince(query.since, 'since');
    } catch (error) {
      if (!(error instanceof CampaignOptionError)) throw error;
      res.status(400).json({ error: error.message });
      return;
    }
    const page = await readAudit(audit, deps.ledger.longTerm?.store, {
      since,
      actor: query.actor,
      target: query.target,
      limit: query.limit === undefined ? 1000 : Number(query.limit),
    });
    res.json(page);
  });

  app.get('/api/audit/campaigns', async (_req, res) => {
    res.json({ campaigns: await audit.latestByTarget(CAMPAIGN_ACTIONS) });
  });
}
