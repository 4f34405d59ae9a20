import { AuditLog } from '../../access/audit.js';
import { readAudit } from '../../access/audit-read.js';
import { parseSince } from '../../campaigns/options.js';
import { CampaignOptionError } from '../../campaigns/options.js';
import { resultTtlSeconds } from '../../config.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { AUDIT } from './audit.decl.js';

/** `wa-bulk audit [--since TIME] [--actor NAME] [--target ID] [--json]`. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(AUDIT, argv);
  let since: number | undefined;
  try {
    since = values.since === undefined ? undefined : parseSince(values.since, '--since');
  } catch (error) {
    if (error instanceof CampaignOptionError) throw new UsageError(error.message);
    throw error;
  }
  return withContext(async (ctx) => {
    const audit = new AuditLog(ctx.redis, ctx.keys, resultTtlSeconds(ctx.config) * 1000);
    const { entries, more } = await readAudit(audit, ctx.ledger.longTerm?.store, {
      since,
      actor: values.actor,
      target: values.target,
      limit: values.limit,
    });
    for (const { id: _id, ...entry } of entries) {
      if (values.json) printJson(entry);
      else
        process.stdout.write(
          `${entry.at}  ${entry.actor}  ${entry.action}${entry.target ? ` ${entry.target}` : ''}  ${entry.outcome}${entry.ip ? `  from ${entry.ip}` : ''}  ${JSON.stringify(entry.params)}\n`,
        );
    }
    if (!values.json) process.stderr.write(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
    if (more)
      process.stderr.write(
        `more entries match: these are the newest ${entries.length}; see older ones with --since, --actor or --target, or a higher --limit\n`,
      );
    return 0;
  });
}
