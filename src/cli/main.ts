#!/usr/bin/env node
import { ConfigError } from '../config.js';
import { explainRedisError } from '../redis/health.js';
import { UsageError } from './args.js';
import { COMMANDS, commandNamed, type CommandName } from './registry.js';
import { help, overview } from './usage.js';

type CommandModule = { run(argv: string[]): Promise<number> };

/** Each command's module, imported only to run it (its declaration, in registry.ts, is all --help needs). */
const LOADERS: Record<CommandName, () => Promise<CommandModule>> = {
  worker: () => import('./commands/worker.js'),
  enqueue: () => import('./commands/enqueue.js'),
  status: () => import('./commands/status.js'),
  campaigns: () => import('./commands/campaigns.js'),
  watch: () => import('./commands/watch.js'),
  check: () => import('./commands/check.js'),
  cancel: () => import('./commands/cancel.js'),
  remove: () => import('./commands/remove.js'),
  suppress: () => import('./commands/suppress.js'),
  result: () => import('./commands/result.js'),
  export: () => import('./commands/export.js'),
  followup: () => import('./commands/followup.js'),
  dlq: () => import('./commands/dlq.js'),
  callbacks: () => import('./commands/callbacks.js'),
  pause: () => import('./commands/pause.js'),
  resume: () => import('./commands/resume.js'),
  dashboard: () => import('./commands/dashboard.js'),
  keys: () => import('./commands/keys.js'),
  audit: () => import('./commands/audit.js'),
  webhooks: () => import('./commands/webhooks.js'),
  demo: () => import('./commands/demo.js'),
  simulator: () => import('./commands/simulator.js'),
};

// A reader that goes away (`wa-bulk export … | head -1`) ends the command quietly: what it asked for was
// written. Without this, the next write fails with EPIPE and a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    // `wa-bulk help enqueue` is `wa-bulk enqueue --help`.
    const topic = commandNamed(rest[0]);
    if (!topic) return unknown(rest[0]);
    process.stdout.write(`${help(topic)}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview(COMMANDS)}\n`);
    return name ? 0 : 2;
  }
  const command = commandNamed(name);
  if (!command) return unknown(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${help(command)}\n`);
    return 0;
  }
  const [module, { runAudited }] = await Promise.all([LOADERS[command.name](), import('./audit-hook.js')]);
  // Traces, when the OTEL_* variables ask for them (src/telemetry/sdk.ts), of the commands that make spans.
  const tracing = TRACED.has(command.name)
    ? await (await import('../telemetry/sdk.js')).startTracing(command.name)
    : undefined;
  try {
    return await runAudited(command, rest, () => module.run(rest));
  } finally {
    await tracing?.shutdown();
  }
}

/** The commands that send, enqueue or take callbacks: the others make no span. */
const TRACED: ReadonlySet<CommandName> = new Set(['worker', 'enqueue', 'dashboard', 'demo']);

function unknown(name: string): number {
  process.stderr.write(`wa-bulk: unknown command "${name}"\n\n${overview(COMMANDS)}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`wa-bulk: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`wa-bulk: ${explainRedisError((error as Error)?.message ?? String(error))}\n`);
      if (process.env.WA_BULK_DEBUG) console.error(error);
      process.exitCode = 1;
    }
  },
);
