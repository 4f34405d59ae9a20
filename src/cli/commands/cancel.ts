import { Campaigns } from '../../campaigns/campaigns.js';
import { cliActor } from '../../access/audit.js';
import { noCampaign } from '../../messages/ids.js';
import { parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { CANCEL } from './cancel.decl.js';

/** `wa-bulk cancel --campaign ID`: once it returns, no further message of the campaign leaves. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(CANCEL, argv);
  const id = values.campaign;
  return withContext(async (ctx) => {
    if (!(await ctx.ledger.campaign(id))) {
      process.stderr.write(`wa-bulk: ${noCampaign(id, '"wa-bulk campaigns"')}\n`);
      return 1;
    }
    const skipped = await new Campaigns(ctx.redis, ctx.keys).cancel(id, ctx.ledger, cliActor());
    if (values.json) printJson({ campaign: id, state: 'cancelled', skipped_now: skipped });
    else
      process.stdout.write(
        `campaign ${id} cancelled: ${skipped} message(s) skipped now (waiting, or held by a worker before their request); requests already in flight finish\n`,
      );
    return 0;
  });
}
