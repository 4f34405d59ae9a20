import type express from 'express';
import type { Request, Response } from 'express';
import { WebhookAdmin, WebhookInputError } from '../events/manage.js';
import { sendTestEvent } from '../../workers/webhook-delivery.js';
import { addEndpointBodySchema, replayWebhookBodySchema } from './admin-schemas.js';
import { smallJson } from './body.js';
import type { DashboardDeps } from './deps.js';
import { parseBody } from './input.js';
import { emptyBodySchema } from './request-schemas.js';
import { sameOrigin } from './security.js';

/**
 * Webhook endpoints over HTTP (admin only, see route-roles.ts), as `wa-bulk webhooks` does them: an added
 * endpoint's secret, and a rotated one, are in the answer once and nowhere else. A changing route that takes
 * no body still reads it: malformed JSON, or a field, is a 400 before anything is done.
 */
export function webhookRoutes(app: express.Express, deps: DashboardDeps): void {
  const admin = new WebhookAdmin(deps.redis, deps.keys, deps.config);
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (error) {
        if (!(error instanceof WebhookInputError)) throw error;
        res.status(error.status).json({ error: error.message });
      }
    };
  const id = (req: Request): string => String(req.params.id);

  app.get(
    '/api/webhooks',
    handle(async (_req, res) => {
      res.json({ endpoints: await admin.list() });
    }),
  );
  app.post(
    '/api/webhooks',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      res.status(201).json(await admin.add(parseBody(addEndpointBodySchema, req)));
    }),
  );
  app.get(
    '/api/webhooks/:id',
    handle(async (req, res) => {
      res.json(await admin.get(id(req)));
    }),
  );
  app.delete(
    '/api/webhooks/:id',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      parseBody(emptyBodySchema, req);
      await admin.remove(id(req));
      res.json({ id: id(req), removed: true });
    }),
  );
  app.post(
    '/api/webhooks/:id/rotate-secret',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      parseBody(emptyBodySchema, req);
      res.json(await admin.rotateSecret(id(req)));
    }),
  );
  app.post(
    '/api/webhooks/:id/enable',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      parseBody(emptyBodySchema, req);
      res.json(await admin.enable(id(req)));
    }),
  );
  app.post(
    '/api/webhooks/:id/test',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      parseBody(emptyBodySchema, req);
      res.json(await sendTestEvent(admin, id(req), deps.config));
    }),
  );
  app.get(
    '/api/webhooks/:id/deliveries',
    handle(async (req, res) => {
      res.json(await admin.deliveriesOf(id(req)));
    }),
  );
  app.post(
    '/api/webhooks/:id/replay',
    sameOrigin,
    smallJson,
    handle(async (req, res) => {
      const { since } = parseBody(replayWebhookBodySchema, req);
      res.json({ id: id(req), replayed: await admin.replay(id(req), since) });
    }),
  );
}
