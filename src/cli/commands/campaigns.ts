import { parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { fmt } from '../progress.js';
import { CAMPAIGNS } from './campaigns.decl.js';

/** `wa-bulk campaigns [--json]`: every campaign with its counts, newest first. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(CAMPAIGNS, argv);
  return withContext(async (ctx) => {
    let count = 0;
    for await (const c of ctx.ledger.campaigns()) {
      if (count++ === 0 && !values.json)
        process.stdout.write(
          `${'campaign'.padEnd(28)} ${'state'.padEnd(10)} ${'total'.padStart(9)} ${'sent'.padStart(9)} ${'dead'.padStart(7)} ${'skipped'.padStart(7)} ${'pending'.padStart(9)} ${'rejected'.padStart(8)}  last enqueue\n`,
        );
      if (values.json) printJson(c);
      else
        process.stdout.write(
          `${c.id.padEnd(28)} ${c.state.padEnd(10)} ${fmt(c.total).padStart(9)} ${fmt(c.sent).padStart(9)} ${fmt(c.dead).padStart(7)} ${fmt(c.skipped).padStart(7)} ${fmt(c.pending).padStart(9)} ${(c.rejected === null ? '-' : fmt(c.rejected)).padStart(8)}  ${c.enqueued_at}\n`,
        );
    }
    if (!values.json) process.stderr.write(`${count} campaign(s)\n`);
    return 0;
  });
}
