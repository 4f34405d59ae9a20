#!/usr/bin/env node
import { ConfigError } from '../config.js';
import { UsageError } from './args.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  worker: { summary: 'run a send worker until SIGTERM/SIGINT', load: () => import('./commands/worker.js') },
  enqueue: { summary: 'validate a JSONL/CSV file and enqueue one job per message', load: () => import('./commands/enqueue.js') },
  status: { summary: 'queue counts, pause state, dead letters, campaign progress', load: () => import('./commands/status.js') },
  watch: { summary: 'live progress bar until the campaign is done', load: () => import('./commands/watch.js') },
  result: { summary: "one message's record", load: () => import('./commands/result.js') },
  export: { summary: 'every message of a campaign, one per line', load: () => import('./commands/export.js') },
  dlq: { summary: 'list, replay or purge dead letters', load: () => import('./commands/dlq.js') },
  pause: { summary: 'stop sending for all workers', load: () => import('./commands/pause.js') },
  resume: { summary: 'restart sending for all workers', load: () => import('./commands/pause.js') },
  dashboard: { summary: 'Bull Board, /metrics, /healthz and the HTTP API', load: () => import('./commands/dashboard.js') },
  demo: { summary: 'everything on this machine, on a sample campaign, with no account', load: () => import('./commands/demo.js') },
  simulator: { summary: 'a local EngageLab stand-in', load: () => import('./commands/simulator.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: wa-bulk <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Configuration comes from the environment (and .env); see README.md.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`wa-bulk: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const module = await command.load();
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
      process.stderr.write(`wa-bulk: ${(error as Error)?.message ?? String(error)}\n`);
      if (process.env.WA_BULK_DEBUG) console.error(error);
      process.exitCode = 1;
    }
  },
);
