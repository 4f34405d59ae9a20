import {
  deadLetterEntry,
  deadLetters,
  describeMalformed,
  purgeDeadLetters,
  replayDeadLetters,
  replayRefusal,
  type DeadFilter,
  type MalformedDeadLetter,
} from '../../ledger/dead-letters.js';
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
  // A job of the dead-letter queue that wa-bulk did not write is named on stderr, one line each, and the
  // command goes on with the others (stdout keeps only what was asked for, JSON included).
  const report = (what: string) => (m: MalformedDeadLetter) =>
    process.stderr.write(`wa-bulk: ${describeMalformed(m, what)}\n`);
  return withContext(async (ctx) => {
    if (action === 'list') {
      let count = 0;
      for await (const job of deadLetters(ctx.dead, filter, { onMalformed: report('skipped') })) {
        count++;
        const d = job.data;
        const entry = deadLetterEntry(d);
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
      const { refused, replayed, leftOut, leftOutBy, alreadySent, malformed } = await replayDeadLetters(
        ctx.dead,
        ctx.send,
        ctx.ledger,
        filter,
      );
      if (refused) {
        process.stderr.write(`wa-bulk: ${replayRefusal(refused.campaign)}\n`);
        return 1;
      }
      malformed.forEach(report('skipped, not replayed'));
      if (values.json)
        printJson({
          action,
          count: replayed,
          left_out: leftOut,
          left_out_by: leftOutBy,
          already_sent: alreadySent,
          malformed: malformed.length,
        });
      else {
        process.stdout.write(`replayed ${replayed} dead letter(s)\n`);
        if (alreadySent > 0) {
          process.stdout.write(
            `dropped ${alreadySent} dead letter(s) of messages EngageLab reported as accepted (sent in the ledger): not resent\n`,
          );
        }
        if (leftOutBy.unknown_outcome > 0) {
          process.stdout.write(
            `left out ${leftOutBy.unknown_outcome} unknown_outcome dead letter(s): EngageLab may have accepted them already; replay them with --reason unknown_outcome if a duplicate is acceptable\n`,
          );
        }
        if (leftOutBy.campaign_cancelled > 0) {
          process.stdout.write(
            `left out ${leftOutBy.campaign_cancelled} dead letter(s) of cancelled campaigns: kept in the dead-letter queue, not replayed\n`,
          );
        }
      }
      return 0;
    }
    const { purged, malformed, malformedDropped } = await purgeDeadLetters(ctx.dead, filter);
    malformed.forEach(report(malformedDropped ? 'dropped' : 'skipped (a purge without filters drops it)'));
    if (values.json) printJson({ action, count: purged, malformed: malformed.length });
    else process.stdout.write(`purged ${purged} dead letter(s)\n`);
    return 0;
  });
}
