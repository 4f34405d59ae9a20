import { deadLetters, purgeDeadLetters, replayDeadLetters, type DeadFilter } from '../../ledger/dead-letters.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { DLQ } from './dlq.decl.js';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(DLQ, argv);
  const action = positionals[0];
  if (!action || !['list', 'replay', 'purge'].includes(action) || positionals.length > 1)
    throw new UsageError(synopsis(DLQ));
  const filter: DeadFilter = { campaign: values.campaign, code: values.code, reason: values.reason };
  return withContext(async (ctx) => {
    if (action === 'list') {
      let count = 0;
      for await (const job of deadLetters(ctx.dead, filter)) {
        count++;
        const d = job.data;
        const entry = {
          request_id: d.request_id,
          campaign: d.campaign,
          to: d.payload.to[0],
          error: d.error,
          attempts: d.attempts,
          died_at: new Date(d.died_at).toISOString(),
        };
        if (values.json) printJson(entry);
        else
          process.stdout.write(
            `${entry.request_id}  ${entry.campaign}  ${d.error.reason}  ${d.error.code ?? '-'}  ${d.error.message}\n`,
          );
      }
      if (!values.json) process.stderr.write(`${count} dead letter(s)\n`);
      return 0;
    }
    if (action === 'replay') {
      const { replayed, leftOut, alreadySent } = await replayDeadLetters(ctx.dead, ctx.send, ctx.ledger, filter);
      if (values.json) printJson({ action, count: replayed, left_out: leftOut, already_sent: alreadySent });
      else {
        process.stdout.write(`replayed ${replayed} dead letter(s)\n`);
        if (alreadySent > 0) {
          process.stdout.write(
            `dropped ${alreadySent} dead letter(s) of messages EngageLab reported as accepted (sent in the ledger): not resent\n`,
          );
        }
        if (leftOut > 0) {
          process.stdout.write(
            `left out ${leftOut} unknown_outcome dead letter(s): EngageLab may have accepted them already; replay them with --reason unknown_outcome if a duplicate is acceptable\n`,
          );
        }
      }
      return 0;
    }
    const count = await purgeDeadLetters(ctx.dead, filter);
    if (values.json) printJson({ action, count });
    else process.stdout.write(`purged ${count} dead letter(s)\n`);
    return 0;
  });
}
