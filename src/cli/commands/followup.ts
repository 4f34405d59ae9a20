import {
  createFollowup,
  followupInput,
  FOLLOWUP_FLAGS,
  sourceKeptMs,
  templateLookup,
} from '../../../producers/followups.js';
import { cliActor } from '../../access/audit.js';
import {
  cancelRefused,
  cannotShow,
  Followups,
  type Followup,
  type InvalidFollowup,
} from '../../campaigns/followups.js';
import { resultTtlSeconds } from '../../config.js';
import { noCampaign } from '../../messages/ids.js';
import { FOLLOWUP_QUEUE, briefQueue, withQueue, type FollowupJob } from '../../queue.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext, type CommandContext } from '../context.js';
import { synopsis } from '../usage.js';
import { FOLLOWUP } from './followup.decl.js';

/**
 * `wa-bulk followup --from ID --where … (--after | --at) --campaign NEW (--template … | --text …)`, `followup
 * list`, `followup cancel ID` (docs/campaigns.md#follow-ups).
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(FOLLOWUP, argv);
  const [action, ...args] = positionals;
  const rules = (ctx: CommandContext) => new Followups(ctx.redis, ctx.keys, resultTtlSeconds(ctx.config) * 1000);
  if (action === 'list') {
    if (args.length > 0) throw new UsageError(synopsis(FOLLOWUP));
    return withContext(async (ctx) => {
      const invalid: InvalidFollowup[] = [];
      const list = await rules(ctx).list(values.from, invalid);
      for (const rule of list) process.stdout.write(values.json ? `${JSON.stringify(rule)}\n` : `${line(rule)}\n`);
      for (const bad of invalid)
        process.stderr.write(`wa-bulk: ${cannotShow(bad, `"wa-bulk followup cancel ${bad.id}"`)}\n`);
      if (!values.json) process.stderr.write(`${list.length} follow-up rule(s)\n`);
      return 0;
    });
  }
  if (action === 'cancel') {
    const id = args[0];
    if (id === undefined || args.length > 1) throw new UsageError(synopsis(FOLLOWUP));
    return withContext(async (ctx) => {
      const followups = rules(ctx);
      const outcome = await followups.cancel(id, cliActor());
      if (outcome.cancelled)
        // Its job would find it cancelled and do nothing; removing it keeps the queue's delayed set short.
        await withQueue<FollowupJob, number>(ctx.redis, ctx.config.QUEUE_PREFIX, FOLLOWUP_QUEUE, (queue) =>
          queue.remove(id).catch(() => 0),
        );
      const rule = await followups.get(id);
      if (values.json && rule) printJson(rule);
      if (outcome.cancelled) {
        if (!values.json) process.stdout.write(`follow-up ${id} cancelled\n`);
        return 0;
      }
      process.stderr.write(`wa-bulk: ${cancelRefused(id, outcome.state)}\n`);
      return 1;
    });
  }
  if (action !== undefined)
    throw new UsageError(`unknown action "${action}" (list, cancel, or flags to make a rule); ${synopsis(FOLLOWUP)}`);
  const input = followupInput(
    {
      ...values,
      send_window: values['send-window'],
      expires_in: values['expires-in'],
      expires_at: values['expires-at'],
    },
    FOLLOWUP_FLAGS,
  );
  return withContext(async (ctx) => {
    const queue = briefQueue<FollowupJob>(ctx.redis, ctx.config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    try {
      const created = await createFollowup(input, {
        ledger: ctx.ledger,
        followups: rules(ctx),
        queue,
        actor: cliActor(),
        keptMs: sourceKeptMs(ctx.config),
        preflight: templateLookup(ctx.config),
      });
      if (!created.ok) {
        process.stderr.write(
          `wa-bulk: ${created.status === 404 ? `--from: ${noCampaign(input.from, '"wa-bulk campaigns"')}` : created.error}\n`,
        );
        return 1;
      }
      for (const warning of created.warnings) process.stderr.write(`wa-bulk: ${warning}\n`);
      if (values.json) printJson(created.followup);
      else {
        const counted = created.counted === null ? '' : ` (${created.followup.after} ${COUNTED[created.counted]})`;
        process.stdout.write(`${line(created.followup)}${counted}\n`);
      }
      return 0;
    } finally {
      await queue.close();
    }
  });
}

/** What a new rule's `--after` was counted from, said after its line. */
const COUNTED = {
  end: "after the campaign's end",
  start: "after the campaign's start: it has not ended",
  at: "after the campaign's scheduled --at: it has not started",
  now: 'from now: the campaign has not started',
} as const;

/** A rule in one line: id, state, source and filter, new campaign, due time, and its counts once evaluated. */
function line(rule: Followup): string {
  const counts =
    rule.state === 'done' || rule.state === 'evaluating'
      ? ` enqueued ${rule.enqueued}, opted out ${rule.suppressed}, held ${rule.held}, rejected ${rule.rejected}`
      : '';
  const control = [
    rule.send_window !== null ? ` window ${rule.send_window}` : '',
    rule.expires_in !== null ? ` expires ${rule.expires_in} after evaluation` : '',
    rule.expires_at !== null ? ` expires at ${rule.expires_at}` : '',
    rule.priority !== 'normal' ? ` priority ${rule.priority}` : '',
  ].join('');
  return `${rule.id} ${rule.state} from ${rule.from} where ${rule.where} -> ${rule.campaign} due ${rule.due_at}${control}${counts}${rule.note ? ` (${rule.note})` : ''}`;
}
