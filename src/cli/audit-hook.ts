import { hostname } from 'node:os';
import { AuditLog, cliActor, type AuditInput } from '../access/audit.js';
import { loadConfig, resultTtlSeconds } from '../config.js';
import { keys } from '../redis/keys.js';
import { producerConnection } from '../redis/connection.js';
import { UsageError, parse } from './args.js';
import type { Command } from './declaration.js';

/**
 * The command line's part of the audit log: a command that changes something (enqueue, pause, resume,
 * cancel, remove, suppress, dlq replay and purge, keys, webhooks, followup) is recorded once it has run, with the OS user as its actor
 * and its exit code (or error) as its outcome. A command refused for its arguments changed nothing and is not
 * recorded; one that only reads is not either.
 */

type Change = Pick<AuditInput, 'action' | 'target' | 'params'>;

/** What a command line changes, or undefined when it only reads. */
export function changeOf(command: Command, argv: string[]): Change | undefined {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parse(command, argv) as typeof parsed;
  } catch {
    return undefined;
  }
  const {
    values: v,
    positionals: [action, ...args],
  } = parsed;
  const flags = Object.fromEntries(
    Object.entries(v).filter(([k, x]) => x !== undefined && x !== false && k !== 'json'),
  );
  const scope = (verb: string): Change =>
    v.sender !== undefined
      ? { action: `lane.${verb}`, target: String(v.sender), params: flags }
      : v.campaign !== undefined
        ? { action: `campaign.${verb}`, target: String(v.campaign), params: flags }
        : { action: `sending.${verb}`, target: null, params: flags };
  switch (command.name) {
    case 'enqueue':
      return v['dry-run']
        ? undefined
        : { action: 'messages.enqueue', target: String(v.campaign), params: { ...flags, file: action } };
    case 'pause':
      return scope('pause');
    case 'resume':
      return scope('resume');
    case 'cancel':
      return { action: 'campaign.cancel', target: String(v.campaign), params: flags };
    case 'suppress':
      if (action === 'add' || action === 'remove')
        return { action: `suppressions.${action}`, target: null, params: { numbers: args } };
      return action === 'import'
        ? { action: 'suppressions.import', target: null, params: { file: args[0] } }
        : undefined;
    case 'dlq':
      return action === 'replay' || action === 'purge'
        ? { action: `dead_letters.${action}`, target: (v.campaign as string | undefined) ?? null, params: flags }
        : undefined;
    case 'keys':
      if (action === 'create')
        return { action: 'key.create', target: (v.name as string | undefined) ?? null, params: flags };
      if (action === 'roll' || action === 'revoke')
        return { action: `key.${action}`, target: args[0] ?? null, params: flags };
      return undefined;
    case 'webhooks':
      // Not the URL: it may carry a token of the receiver's.
      if (action === 'add') return { action: 'webhook.add', target: null, params: flags };
      if (['remove', 'rotate-secret', 'enable', 'replay'].includes(action ?? ''))
        return { action: `webhook.${action}`, target: args[0] ?? null, params: flags };
      return undefined;
    case 'remove':
      return { action: 'message.remove', target: action ?? null, params: flags };
    case 'followup':
      if (action === 'cancel') return { action: 'followup.cancel', target: args[0] ?? null, params: flags };
      return action === undefined
        ? { action: 'followup.create', target: (v.from as string | undefined) ?? null, params: flags }
        : undefined;
    default:
      return undefined;
  }
}

/** Runs a command, and records it in the audit log when it changes something. */
export async function runAudited(command: Command, argv: string[], run: () => Promise<number>): Promise<number> {
  const change = changeOf(command, argv);
  if (!change) return run();
  let outcome: string;
  try {
    const code = await run();
    outcome = code === 0 ? 'ok' : `exit ${code}`;
    await record(change, outcome);
    return code;
  } catch (error) {
    // Its error says what went wrong; a log entry that cannot be written either (Redis away) adds nothing.
    if (!(error instanceof UsageError))
      await record(change, `failed: ${(error as Error).message}`.slice(0, 300), { quiet: true });
    throw error;
  }
}

async function record(change: Change, outcome: string, options: { quiet?: boolean } = {}): Promise<void> {
  try {
    const config = loadConfig();
    const redis = await producerConnection(config);
    try {
      await new AuditLog(redis, keys(config.QUEUE_PREFIX), resultTtlSeconds(config) * 1000).record({
        ...change,
        params: { ...change.params, host: hostname() },
        actor: cliActor(),
        outcome,
      });
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    if (!options.quiet) process.stderr.write(`wa-bulk: audit log not written: ${(error as Error).message}\n`);
  }
}
