import { noCampaign } from '../../messages/ids.js';
import { messageLines, rejectLines } from '../../ledger/export-lines.js';
import { REJECTS_KEPT } from '../../ledger/rejects.js';
import { audienceLines, filtered, keepsAll, outcomeFilterOf } from '../../ledger/outcomes.js';
import { UsageError } from '../../usage-error.js';
import { parse } from '../args.js';
import { withContext } from '../context.js';
import { fmt } from '../progress.js';
import { EXPORT } from './export.decl.js';

/**
 * Every message of a campaign to stdout, one per line, streamed (backpressure respected); with --rejected,
 * the lines its enqueues refused that it keeps.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(EXPORT, argv);
  const { campaign, format } = values;
  const filter = outcomeFilterOf(values, (field) => `--${field}`);
  if (values.rejected && (!keepsAll(filter) || format === 'audience'))
    throw new UsageError(
      '--rejected lists refused lines: it takes no --status, --reason, --code, --delivery or --format audience',
    );
  return withContext(async (ctx) => {
    const counts = await ctx.ledger.campaign(campaign);
    const rejected = values.rejected ? await ctx.ledger.rejects.list(campaign) : [];
    if (!counts && rejected.length === 0) {
      process.stderr.write(`wa-bulk: ${noCampaign(campaign, '"wa-bulk campaigns"')}\n`);
      return 1;
    }
    const write = (line: string) =>
      process.stdout.write(`${line}\n`)
        ? Promise.resolve()
        : new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
    const messages = () => filtered(ctx.ledger.export(campaign), filter);
    const lines = values.rejected
      ? rejectLines(rejected, format === 'csv' ? 'csv' : 'jsonl')
      : format === 'audience'
        ? audienceLines(messages)
        : messageLines(messages(), format);
    for await (const line of lines) await write(line);
    if (values.rejected && (counts?.rejected ?? 0) > rejected.length)
      process.stderr.write(
        `wa-bulk: ${fmt(counts?.rejected ?? 0)} lines were rejected; ${fmt(rejected.length)} are kept (the first ${fmt(REJECTS_KEPT)} at most)\n`,
      );
    return 0;
  });
}
