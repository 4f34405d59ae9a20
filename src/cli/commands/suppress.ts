import { createReadStream, existsSync } from 'node:fs';
import { isBsuid } from '../../messages/identity.js';
import { Suppressions } from '../../recipients/suppressions.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { SUPPRESS } from './suppress.decl.js';
import { cliActor } from '../../access/audit.js';

/**
 * `wa-bulk suppress add|remove NUMBER… | import FILE | list [--json]`. A NUMBER may also be a business-scoped
 * user id (src/recipients/suppressions.ts says how the two meet).
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(SUPPRESS, argv);
  const [action, ...args] = positionals;
  if (action === 'add' || action === 'remove') {
    if (args.length === 0) throw new UsageError(synopsis(SUPPRESS));
    const { numbers, problem } = Suppressions.normalise(args);
    if (problem !== undefined) throw new UsageError(problem);
    const changed = await withContext((ctx) =>
      action === 'add'
        ? new Suppressions(ctx.redis, ctx.keys).add(numbers, cliActor())
        : new Suppressions(ctx.redis, ctx.keys).remove(numbers),
    );
    if (values.json) printJson({ action, count: changed });
    else
      process.stdout.write(
        `${action === 'add' ? 'suppressed' : 'no longer suppressed'}: ${changed} number(s)${numbers.some(isBsuid) ? ' or user id(s), linked ones included' : ''}\n`,
      );
    return 0;
  }
  if (action === 'import') {
    const file = args[0];
    if (!file || args.length > 1) throw new UsageError(synopsis(SUPPRESS));
    if (file !== '-' && !existsSync(file)) throw new UsageError(`cannot read ${file}: no such file`);
    const report = await withContext((ctx) =>
      new Suppressions(ctx.redis, ctx.keys).import(file === '-' ? process.stdin : createReadStream(file)),
    );
    if (values.json) printJson({ action, added: report.added, invalid: report.invalid });
    else {
      for (const bad of report.invalid) process.stderr.write(`line ${bad.line}: ${bad.error}\n`);
      process.stdout.write(`suppressed ${report.added} new number(s); ${report.invalid.length} line(s) rejected\n`);
    }
    return report.invalid.length > 0 ? 1 : 0;
  }
  if (action === 'list') {
    if (args.length > 0) throw new UsageError(synopsis(SUPPRESS));
    return withContext(async (ctx) => {
      let count = 0;
      for await (const numbers of new Suppressions(ctx.redis, ctx.keys).list()) {
        count += numbers.length;
        // In full, as the numbers are: the list is for whoever may remove an entry, and removing needs it whole.
        const line = (n: string) =>
          values.json ? JSON.stringify({ number: n, kind: isBsuid(n) ? 'bsuid' : 'phone' }) : n;
        process.stdout.write(numbers.map(line).join('\n') + '\n');
      }
      if (!values.json) process.stderr.write(`${count} suppressed number(s)\n`);
      return 0;
    });
  }
  throw new UsageError(synopsis(SUPPRESS));
}
