import { cliActor } from '../../access/audit.js';
import { ApiKeys, KeyError, describeKey, parseKeyDuration, parseRate } from '../../access/keys.js';
import { UsageError, namingFlag, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { KEYS } from './keys.decl.js';

const duration = (text: string | undefined, flag: string, zero = false): number | undefined => {
  try {
    return text === undefined ? undefined : parseKeyDuration(text, flag, zero);
  } catch (error) {
    if (error instanceof KeyError) throw new UsageError(error.message);
    throw error;
  }
};

/** `wa-bulk keys create|list|roll|revoke`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(KEYS, argv);
  const [action, ...args] = positionals;
  const expiresInMs = duration(values.expires, '--expires');
  let rate: number | undefined;
  try {
    rate = values.rate === undefined ? undefined : parseRate(values.rate, '--rate');
  } catch (error) {
    if (error instanceof KeyError) throw new UsageError(error.message);
    throw error;
  }
  const printNew = (created: { key: string; name: string; role: string; expires_at: string | null }) => {
    if (values.json) printJson(created);
    else {
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(
        `key "${created.name}" (${created.role}) created${created.expires_at ? `, expires ${created.expires_at}` : ''}: it is shown this once; wa-bulk keeps only its digest\n`,
      );
    }
  };
  if (action === 'create') {
    if (args.length > 0 || values.name === undefined || values.role === undefined)
      throw new UsageError(`keys create needs --name and --role: ${synopsis(KEYS)}`);
    const { name, role } = values;
    return withContext(async (ctx) => {
      const keys = new ApiKeys(ctx.redis, ctx.keys);
      try {
        printNew(await keys.create({ name, role, expiresInMs, ...(rate !== undefined && { rate }), by: cliActor() }));
        return 0;
      } catch (error) {
        return refused(error);
      }
    });
  }
  if (action === 'list') {
    if (args.length > 0) throw new UsageError(synopsis(KEYS));
    return withContext(async (ctx) => {
      const now = Date.now();
      for (const record of await new ApiKeys(ctx.redis, ctx.keys).list()) {
        const d = describeKey(record, now);
        if (values.json) printJson(d);
        else
          process.stdout.write(
            `${d.name}  ${d.role}  ${d.prefix}  ${d.state}  created ${d.created_at} by ${d.created_by}  last used ${d.last_used_at ?? 'never'}  expires ${d.expires_at ?? 'never'}${d.revoked_at ? `  revoked ${d.revoked_at}` : ''}\n`,
          );
      }
      return 0;
    });
  }
  if (action === 'roll' || action === 'revoke') {
    const name = args[0];
    if (name === undefined || args.length > 1) throw new UsageError(synopsis(KEYS));
    return withContext(async (ctx) => {
      const keys = new ApiKeys(ctx.redis, ctx.keys);
      try {
        if (action === 'revoke') {
          const count = await keys.revoke(name);
          if (values.json) printJson({ name, revoked: count });
          else process.stdout.write(`key "${name}" revoked (${count} key(s)): refused from now on\n`);
          return 0;
        }
        const rolled = await keys.roll(name, {
          overlapMs: duration(values.overlap, '--overlap', true) ?? 0,
          expiresInMs,
          by: cliActor(),
        });
        printNew(rolled);
        if (!values.json) process.stderr.write(`the old key of "${name}" works until ${rolled.old_expires_at}\n`);
        return 0;
      } catch (error) {
        return refused(error);
      }
    });
  }
  throw new UsageError(synopsis(KEYS));
}

/** The fields the keys' checks name, as the command line's flags. */
const KEY_FLAGS = { name: '--name', role: '--role', expires: '--expires', rate: '--rate', overlap: '--overlap' };

function refused(error: unknown): number {
  if (!(error instanceof KeyError)) throw error;
  if (error.status === 400) throw new UsageError(namingFlag(error.message, KEY_FLAGS));
  process.stderr.write(`wa-bulk: ${error.message}\n`);
  return 1;
}
