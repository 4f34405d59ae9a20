import { UNKNOWN_ROWS_KEPT, UnknownRows } from '../../engagelab/unknown-rows.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { CALLBACKS } from './callbacks.decl.js';

/** `wa-bulk callbacks unknown [--limit N] [--json]`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(CALLBACKS, argv);
  if (positionals.length !== 1 || positionals[0] !== 'unknown') throw new UsageError(synopsis(CALLBACKS));
  const limit = Math.min(values.limit, UNKNOWN_ROWS_KEPT);
  const { kept, rows } = await withContext((ctx) => new UnknownRows(ctx.redis, ctx.keys.callbacksUnknown).list(limit));
  for (const row of rows) {
    const at = new Date(row.received_at).toISOString();
    if (values.json) printJson({ ...row, received_at: at });
    else process.stdout.write(`${at}  ${row.error}\n  ${row.row}${row.truncated ? ' …(cut)' : ''}\n`);
  }
  if (!values.json) process.stderr.write(`${rows.length} of ${kept} kept row(s) of an unknown shape shown\n`);
  return 0;
}
