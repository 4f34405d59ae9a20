import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * The top functions by self time of a V8 CPU profile (a `.cpuprofile` written with `--cpu-prof`, e.g. by a
 * bench child under WA_BULK_BENCH_PROFILE), and the self time by where the code lives (wa-bulk, a package,
 * Node itself), optionally per message:
 *
 *   node dist/bench/cpu-profile.js <file.cpuprofile> [--top 10] [--messages N] [--json]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a function's code lives: `bullmq`, `ioredis`, `wa-bulk`, `node` (its own modules), or `(v8)`. */
function owner(url: string): string {
  if (url === '') return '(v8)';
  if (url.startsWith('node:')) return 'node';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  return 'wa-bulk';
}

/** The function's file from its package or the project's folder on: `bullmq/dist/esm/classes/worker.js:120`. */
function where(url: string, line: number): string {
  if (url === '') return '';
  const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '');
  return `${short}:${line + 1}`;
}

function summarise(profile: Profile, top: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, { name: string; where: string; owner: string; us: number }>();
  const owners = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = functions.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      where: where(frame.url, frame.lineNumber),
      owner: owner(frame.url),
      us: 0,
    };
    entry.us += us;
    functions.set(key, entry);
    if (entry.name !== '(idle)') owners.set(entry.owner, (owners.get(entry.owner) ?? 0) + us);
  }
  const sorted = [...functions.values()].sort((a, b) => b.us - a.us);
  return {
    total_ms: totalUs / 1000,
    idle_ms: sorted.filter((f) => f.name === '(idle)').reduce((n, f) => n + f.us, 0) / 1000,
    functions: sorted.filter((f) => f.name !== '(idle)').slice(0, top),
    owners: [...owners].sort(([, a], [, b]) => b - a),
  };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string' }, messages: { type: 'string' }, json: { type: 'boolean' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: cpu-profile.js <file.cpuprofile> [--top N] [--messages N] [--json]');
const top = Number(values.top ?? 10);
const messages = values.messages ? Number(values.messages) : undefined;
const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top);
if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const busy = summary.total_ms - summary.idle_ms;
  const per = (us: number) => (messages ? `  ${(us / messages).toFixed(1).padStart(6)} µs/msg` : '');
  console.log(`${file}: ${busy.toFixed(0)} ms busy of ${summary.total_ms.toFixed(0)} ms sampled`);
  for (const f of summary.functions)
    console.log(
      `  ${((f.us / 1000 / busy) * 100).toFixed(1).padStart(5)}%${per(f.us)}  ${f.name.slice(0, 40).padEnd(40)} ${f.owner.padEnd(12)} ${f.where}`,
    );
  console.log('  by owner:');
  for (const [name, us] of summary.owners)
    console.log(`  ${((us / 1000 / busy) * 100).toFixed(1).padStart(5)}%${per(us)}  ${name}`);
}
