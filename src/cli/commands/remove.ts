import { removeMessage } from '../../campaigns/remove-message.js';
import { requestId as checkRequestId } from '../../messages/ids.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { REMOVE } from './remove.decl.js';

/** `wa-bulk remove REQUEST_ID`: one message taken back through the ledger (Bull Board's remove would not be). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(REMOVE, argv);
  if (!positionals[0] || positionals.length > 1) throw new UsageError(synopsis(REMOVE));
  const requestId = checkRequestId(positionals[0], 'REQUEST_ID');
  const outcome = await withContext((ctx) => removeMessage(ctx.redis, ctx.keys, ctx.ledger, requestId));
  if (!outcome.removed) {
    process.stderr.write(`wa-bulk: ${outcome.error}\n`);
    return 1;
  }
  if (values.json) printJson(outcome.record);
  else
    process.stdout.write(
      `message ${requestId} removed: skipped, reason removed; campaign ${outcome.record.campaign} counts it as skipped\n`,
    );
  return 0;
}
