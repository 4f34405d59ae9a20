import { AUDIT } from './commands/audit.decl.js';
import { CALLBACKS } from './commands/callbacks.decl.js';
import { CAMPAIGNS } from './commands/campaigns.decl.js';
import { CANCEL } from './commands/cancel.decl.js';
import { DASHBOARD } from './commands/dashboard.decl.js';
import { DEMO } from './commands/demo.decl.js';
import { DLQ } from './commands/dlq.decl.js';
import { CHECK, ENQUEUE } from './commands/enqueue.decl.js';
import { EXPORT } from './commands/export.decl.js';
import { FOLLOWUP } from './commands/followup.decl.js';
import { KEYS } from './commands/keys.decl.js';
import { PAUSE, RESUME } from './commands/pause.decl.js';
import { REMOVE } from './commands/remove.decl.js';
import { RESULT } from './commands/result.decl.js';
import { SIMULATOR } from './commands/simulator.decl.js';
import { STATUS } from './commands/status.decl.js';
import { SUPPRESS } from './commands/suppress.decl.js';
import { WATCH } from './commands/watch.decl.js';
import { WEBHOOKS } from './commands/webhooks.decl.js';
import { WORKER } from './commands/worker.decl.js';
import type { Command } from './declaration.js';

/**
 * Every command's declaration, in the order `wa-bulk --help` lists them. A declaration sits beside its command
 * in `commands/NAME.decl.ts` (check's beside enqueue's, resume's beside pause's, as they share a module) and
 * imports nothing but types: `wa-bulk --help`, a usage error and the docs test read it without loading the
 * command, whose module (BullMQ, the worker, the HTTP app, …) main.ts imports only to run it.
 */
const DECLARED = [
  WORKER,
  ENQUEUE,
  CHECK,
  CANCEL,
  REMOVE,
  SUPPRESS,
  STATUS,
  CAMPAIGNS,
  WATCH,
  RESULT,
  EXPORT,
  FOLLOWUP,
  DLQ,
  CALLBACKS,
  PAUSE,
  RESUME,
  DASHBOARD,
  KEYS,
  AUDIT,
  WEBHOOKS,
  DEMO,
  SIMULATOR,
] as const satisfies readonly Command[];

export type CommandName = (typeof DECLARED)[number]['name'];
export type NamedCommand = Command & { readonly name: CommandName };

export const COMMANDS: readonly NamedCommand[] = DECLARED;

export function commandNamed(name: string): NamedCommand | undefined {
  return COMMANDS.find((command) => command.name === name);
}
