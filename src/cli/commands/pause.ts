import { pauseSending, resumeSending } from '../../control.js';
import { parse } from '../args.js';
import { withContext } from '../context.js';

/** `wa-bulk pause [--reason TEXT]` and `wa-bulk resume`. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parse(rest, { reason: { type: 'string' } }, false);
  await withContext(async (ctx) => {
    if (command === 'pause') await pauseSending(ctx.send, ctx.redis, ctx.keys, values.reason ?? 'paused by an operator');
    else await resumeSending(ctx.send, ctx.redis, ctx.keys);
  });
  process.stdout.write(command === 'pause' ? 'sending paused for all workers\n' : 'sending resumed\n');
  return 0;
}
