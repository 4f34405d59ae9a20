#!/usr/bin/env node
import { ConfigError } from '../config.js';
import { explainRedisError } from '../redis/health.js';
import { UsageError } from './args.js';
import { HELP, type CommandName } from './usage.js';

type CommandModule = { run(argv: string[]): Promise<number> };

const LOADERS: Record<CommandName, () => Promise<CommandModule>> = {
  worker: () => import('./commands/worker.js'),
  enqueue: () => import('./commands/enqueue.js'),
  status: () => import('./commands/status.js'),
  campaigns: () => import('./commands/campaigns.js'),
  watch: () => import('./commands/watch.js'),
  check: () => import('./commands/check.js'),
  cancel: () => import('./commands/cancel.js'),
  suppress: () => import('./commands/suppress.js'),
  result: () => import('./commands/result.js'),
  export: () => import('./commands/export.js'),
  dlq: () => import('./commands/dlq.js'),
  pause: () => import('./commands/pause.js'),
  resume: () => import('./commands/pause.js'),
  dashboard: () => import('./commands/dashboard.js'),
  demo: () => import('./commands/demo.js'),
  simulator: () => import('./commands/simulator.js'),
};

function usage(): string {
  const names = Object.keys(HELP) as CommandName[];
  const width = Math.max(...names.map((c) => c.length));
  return [
    'usage: wa-bulk <command> [options]',
    '',
    ...names.map((name) => `  ${name.padEnd(width)}  ${HELP[name].summary}`),
    '',
    '"wa-bulk <command> --help" shows its options. Configuration comes from the environment (and .env); see README.md.',
  ].join('\n');
}

const isCommand = (name: string): name is CommandName => Object.hasOwn(HELP, name);

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
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (!isCommand(name)) {
    process.stderr.write(`wa-bulk: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${HELP[name].usage}\n`);
    return 0;
  }
  const module = await LOADERS[name]();
  return module.run(name === 'pause' || name === 'resume' ? [name, ...rest] : rest);
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
