import type express from 'express';
import type { Request, Response } from 'express';
import { UserLinks } from '../recipients/links.js';
import { Suppressions } from '../recipients/suppressions.js';
import { numbersBodySchema, suppressionQuerySchema } from './request-schemas.js';
import { smallJson } from './body.js';
import type { DashboardDeps } from './deps.js';
import { sameOrigin } from './security.js';
import { actorOf } from './access.js';
import { parseBody, parseQuery } from './input.js';

/**
 * The opt-out list over HTTP (behind the dashboard's authentication): look up or list, add, remove. The
 * changing routes pass sameOrigin (security.ts); a body holds 1,000 numbers at most (numbersBodySchema), a
 * larger list goes through `wa-bulk suppress import`.
 * A "number" may be a business-scoped user id too (src/recipients/suppressions.ts).
 */

export function suppressionRoutes(app: express.Express, deps: DashboardDeps): void {
  const suppressions = new Suppressions(deps.redis, deps.keys);
  const links = new UserLinks(deps.redis, deps.keys);
  app.get('/api/suppressions', async (req, res) => {
    const { number } = parseQuery(suppressionQuerySchema, req);
    if (number !== undefined) {
      const { numbers, problem } = Suppressions.normalise([number]);
      if (problem !== undefined) {
        res.status(400).json({ error: `number: ${problem}` });
        return;
      }
      const user = numbers[0] as string;
      // linked: the id of a number, or the number of an id, when a callback has linked them.
      const linked = (await links.other(user)) ?? null;
      res.json({ number: user, suppressed: await suppressions.has(user), linked });
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
    const given = parseBody(numbersBodySchema, req).numbers;
    const { numbers, problem } = Suppressions.normalise(given);
    if (problem !== undefined) {
      res.status(400).json({ error: `numbers: ${problem}` });
      return;
    }
    const count =
      action === 'add'
        ? await suppressions.add(numbers, actorOf(res)?.name ?? 'dashboard')
        : await suppressions.remove(numbers);
    res.json({ [action === 'add' ? 'added' : 'removed']: count, total: await suppressions.count() });
  };
  app.post('/api/suppressions', sameOrigin, smallJson, change('add'));
  app.delete('/api/suppressions', sameOrigin, smallJson, change('remove'));
}
