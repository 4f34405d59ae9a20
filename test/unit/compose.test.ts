import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config.js';

/**
 * docker-compose.yml against the configuration schema: every variable set in .env reaches the workers and the
 * dashboard (a variable compose forgets is ignored without a word), the dashboard, which listens beyond
 * loopback, needs its password and callback token, and the rehearsal's simulator calls the dashboard back. Read through `docker compose config` (or docker-compose v1), which needs no Docker engine.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Documented beside the schema (docs/configuration.md, "Other environment variables"), read by wa-bulk too. */
const OTHERS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'WA_BULK_DEBUG'];
/** What compose sets itself, whatever .env says. */
const FORCED: Record<string, Record<string, string>> = {
  worker: { REDIS_URL: 'redis://redis:6379' },
  dashboard: { REDIS_URL: 'redis://redis:6379', DASHBOARD_HOST: '0.0.0.0', DASHBOARD_PORT: '3000' },
};
const TOKEN = 'rehearsal-token-0123456789';

function findCompose(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(command[0] as string, [...command.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return command;
  }
  return undefined;
}

interface Service {
  environment: Map<string, string>;
  command: string[];
  /** Every line of the service, for what the two versions of compose print differently (volumes). */
  text: string;
}

const unquote = (value: string) => value.replace(/^(['"])(.*)\1$/, '$2');

/** The services of `config`'s canonical YAML: two-space indents, lists indented or not. */
function servicesOf(yaml: string): Map<string, Service> {
  const services = new Map<string, Service>();
  let section = '';
  let service: Service | undefined;
  let key = '';
  for (const line of yaml.split('\n')) {
    if (/^\S/.test(line)) section = line;
    if (section !== 'services:') continue;
    const name = /^ {2}([\w-]+):$/.exec(line);
    if (name) {
      service = { environment: new Map(), command: [], text: '' };
      services.set(name[1] as string, service);
      continue;
    }
    if (!service) continue;
    service.text += `${line}\n`;
    const field = /^ {4}(\w+):/.exec(line);
    if (field) {
      key = field[1] as string;
      continue;
    }
    const variable = /^ {6}([A-Za-z_][A-Za-z0-9_]*): ?(.*)$/.exec(line);
    if (key === 'environment' && variable)
      service.environment.set(variable[1] as string, unquote(variable[2] as string));
    const item = /^ {4,6}- (.*)$/.exec(line);
    if (key === 'command' && item) service.command.push(unquote(item[1] as string));
  }
  return services;
}

const compose = findCompose();
if (!compose) process.stdout.write('docker-compose.yml tests skipped: neither "docker compose" nor docker-compose\n');
const suite = compose ? describe : describe.skip;

suite('docker-compose.yml', () => {
  let dir: string;
  let services: Map<string, Service>;
  const variables = [...Object.keys(configSchema.shape), ...OTHERS];

  beforeAll(() => {
    // An .env that sets every variable to a value naming it (config does not validate them).
    dir = mkdtempSync(join(tmpdir(), 'wa-bulk-compose-'));
    const env = variables.map((name) => `${name}=${name === 'CALLBACK_TOKEN' ? TOKEN : `from-env-${name}`}`);
    writeFileSync(join(dir, '.env'), `${env.join('\n')}\n`);
    const [command, ...args] = compose as string[];
    const run = spawnSync(
      command as string,
      [...args, '--project-directory', ROOT, '--env-file', join(dir, '.env'), '--profile', 'rehearsal', 'config'],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
    );
    if (run.status !== 0) throw new Error(`${compose?.join(' ')} config failed: ${run.stderr}`);
    services = servicesOf(run.stdout);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['worker', 'dashboard'])('passes every variable of the configuration to the %s', (name) => {
    const environment = services.get(name)?.environment ?? new Map<string, string>();
    const forced = FORCED[name] ?? {};
    const expected = Object.fromEntries(
      variables.map((v) => [v, forced[v] ?? (v === 'CALLBACK_TOKEN' ? TOKEN : `from-env-${v}`)]),
    );
    const passed = Object.fromEntries(variables.map((v) => [v, environment.get(v)]));
    expect(passed).toEqual(expected);
  });

  it.each([
    ['DASHBOARD_PASSWORD', 'the dashboard listens on all interfaces in a container'],
    ['CALLBACK_TOKEN', 'the token in their URL is all that keeps forgers out'],
  ])('refuses to start without %s, saying why', (variable, why) => {
    const env = variables
      .filter((name) => name !== variable)
      .map((name) => `${name}=${name === 'CALLBACK_TOKEN' ? TOKEN : `from-env-${name}`}`);
    writeFileSync(join(dir, 'missing.env'), `${env.join('\n')}\n`);
    const [command, ...args] = compose as string[];
    const run = spawnSync(
      command as string,
      [...args, '--project-directory', ROOT, '--env-file', join(dir, 'missing.env'), 'config', '-q'],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(variable);
    expect(run.stderr).toContain(why);
  });

  it("points the rehearsal's simulator at the dashboard's callback path, token included, with a templates file", () => {
    const simulator = services.get('simulator');
    const flag = (name: string) => simulator?.command[simulator.command.indexOf(name) + 1];
    expect(flag('--callback-url')).toBe(`http://dashboard:3000/callbacks/engagelab/${TOKEN}`);
    expect(flag('--templates-file')).toBe('/rehearsal/templates.json');
    expect(simulator?.text).toContain(join(ROOT, 'examples', 'templates.json'));
  });
});
