import { WebhookAdmin, WebhookInputError } from '../../events/manage.js';
import type { Endpoint } from '../../events/endpoints.js';
import { sendTestEvent } from '../../../workers/webhook-delivery.js';
import { UsageError, namingFlag, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { WEBHOOKS } from './webhooks.decl.js';

const describe = (e: Endpoint): string =>
  [
    e.id,
    e.url,
    e.events.length > 0 ? e.events.join(',') : '*',
    e.campaign ? `campaign ${e.campaign}` : 'all campaigns',
    e.batch > 1 ? `batches of ${e.batch}` : 'one event a request',
    e.disabled
      ? `disabled ${e.disabled.at} (${e.disabled.reason})`
      : e.failing_since
        ? `failing since ${e.failing_since}`
        : 'enabled',
    `delivered ${e.counts.delivered}, failed attempts ${e.counts.failed}, retrying ${e.retrying}, out of attempts ${e.exhausted}`,
    e.last ? `last ${e.last.at} ${e.last.status ?? ''}${e.last.error ? ` ${e.last.error}` : ''}`.trim() : 'never tried',
  ].join('  ');

/** The fields the endpoints' checks name, as the command line's argument and flags. */
const WEBHOOK_FLAGS = { url: 'URL', events: '--events', campaign: '--campaign', batch: '--batch', since: '--since' };

/** `wa-bulk webhooks add|list|remove|rotate-secret|enable|test|deliveries|replay`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(WEBHOOKS, argv);
  const [action, ...args] = positionals;
  const one = (): string => {
    if (args.length !== 1) throw new UsageError(synopsis(WEBHOOKS));
    return args[0] as string;
  };
  const known = ['add', 'list', 'remove', 'rotate-secret', 'enable', 'test', 'deliveries', 'replay'];
  if (action === undefined || !known.includes(action)) throw new UsageError(synopsis(WEBHOOKS));
  const target = action === 'list' ? (args.length > 0 ? one() : '') : one();
  return withContext(async (ctx) => {
    const admin = new WebhookAdmin(ctx.redis, ctx.keys, ctx.config);
    try {
      switch (action) {
        case 'add': {
          const endpoint = await admin.add({
            url: target,
            events: values.events,
            campaign: values.campaign,
            batch: values.batch,
          });
          if (values.json) printJson(endpoint);
          else {
            process.stdout.write(`${endpoint.secret}\n`);
            process.stderr.write(
              `webhook endpoint ${endpoint.id} added: the secret above is shown this once; verify each request with it (docs/webhooks.md)\n`,
            );
          }
          return 0;
        }
        case 'list':
          for (const endpoint of await admin.list())
            if (values.json) printJson(endpoint);
            else process.stdout.write(`${describe(endpoint)}\n`);
          return 0;
        case 'remove':
          await admin.remove(target);
          process.stdout.write(`webhook endpoint ${target} removed\n`);
          return 0;
        case 'rotate-secret': {
          const rotated = await admin.rotateSecret(target);
          if (values.json) printJson(rotated);
          else {
            process.stdout.write(`${rotated.secret}\n`);
            process.stderr.write(
              `new secret for ${target}, shown this once; requests carry both signatures until ${rotated.previous_until}\n`,
            );
          }
          return 0;
        }
        case 'enable':
          await admin.enable(target);
          process.stdout.write(`webhook endpoint ${target} enabled\n`);
          return 0;
        case 'test': {
          const outcome = await sendTestEvent(admin, target, ctx.config);
          if (values.json) printJson(outcome);
          else
            process.stdout.write(
              outcome.result === 'delivered'
                ? `delivered: HTTP ${outcome.status}\n`
                : `not delivered: ${outcome.result === 'gone' ? 'HTTP 410 Gone' : outcome.error}\n`,
            );
          return outcome.result === 'delivered' ? 0 : 1;
        }
        case 'deliveries': {
          const { retrying, exhausted } = await admin.deliveriesOf(target);
          for (const d of retrying) {
            const line = { state: 'retrying', id: d.id, attempts: d.attempts, next_at: new Date(d.due).toISOString() };
            if (values.json) printJson(line);
            else process.stdout.write(`${line.state}  ${line.id}  attempts ${line.attempts}  next ${line.next_at}\n`);
          }
          for (const d of exhausted) {
            const line = {
              state: 'exhausted',
              id: d.id,
              attempts: d.attempts,
              at: new Date(d.at).toISOString(),
              status: d.status,
              error: d.error,
            };
            if (values.json) printJson(line);
            else
              process.stdout.write(
                `${line.state}  ${line.id}  attempts ${line.attempts}  given up ${line.at}  ${line.error}\n`,
              );
          }
          return 0;
        }
        default: {
          const replayed = await admin.replay(target, values.since);
          if (values.json) printJson({ id: target, replayed });
          else process.stdout.write(`${replayed} delivery(ies) of ${target} sent again\n`);
          return 0;
        }
      }
    } catch (error) {
      if (!(error instanceof WebhookInputError)) throw error;
      if (error.status === 400) throw new UsageError(namingFlag(error.message, WEBHOOK_FLAGS));
      process.stderr.write(`wa-bulk: ${error.message}\n`);
      return 1;
    }
  });
}
