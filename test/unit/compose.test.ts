import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configSchema } from '../../src/config.js';

/**
 * docker-compose.yml against the configuration schema: every variable set in .env reaches the workers and the
 * dashboard (a variable compose forgets is ignored without a word), the dashboard, which listens beyond
 * loopback, needs its password and callback token, and the rehearsal's simulator calls the dashboard back; the
 * observability profile's Prometheus scrapes the dashboard with its credentials and loads the alert rules, and
 * its Grafana gets the dashboard. Read through `docker compose config` (or docker-compose v1), which needs no
 * Docker engine.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Documented beside the schema (docs/configuration.md, "Other environment variables"), read by wa-bulk too. */
const OTHERS = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'WA_BULK_DEBUG',
  // Traces: read by OpenTelemetry's SDK (src/telemetry/sdk.ts).
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
];
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

/** A bind mount of `config`'s output, short ("src:dst:ro", compose v1) or long ({source, target}, v2). */
function mountsOf(service: { volumes?: Array<string | { source?: string; target: string }> }): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service.volumes ?? []) {
    if (typeof volume === 'string') {
      const [source, target] = volume.split(':');
      mounts.set(target as string, source as string);
    } else mounts.set(volume.target, volume.source ?? '');
  }
  return mounts;
}

suite('docker-compose.yml, profile observability', () => {
  interface ComposeService {
    image: string;
    environment?: Record<string, string | null>;
    entrypoint?: string[];
    volumes?: Array<string | { source?: string; target: string }>;
  }
  let dir: string;
  let services: Record<string, ComposeService>;
  const PASSWORD = 'observability password with spaces';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wa-bulk-compose-'));
    writeFileSync(
      join(dir, '.env'),
      `DASHBOARD_USER=operator\nDASHBOARD_PASSWORD='${PASSWORD}'\nCALLBACK_TOKEN=${TOKEN}\n`,
    );
    const [command, ...args] = compose as string[];
    const run = spawnSync(
      command as string,
      [...args, '--project-directory', ROOT, '--env-file', join(dir, '.env'), '--profile', 'observability', 'config'],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
    );
    if (run.status !== 0) throw new Error(`${compose?.join(' ')} config failed: ${run.stderr}`);
    services = (parse(run.stdout) as { services: Record<string, ComposeService> }).services;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pins Prometheus and Grafana to a release', () => {
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
  });

  it("has Prometheus scrape the dashboard's /metrics with the dashboard's own user and password, from files", () => {
    const prometheus = services.prometheus as ComposeService;
    expect(prometheus.environment).toMatchObject({ DASHBOARD_USER: 'operator', DASHBOARD_PASSWORD: PASSWORD });
    const mounts = mountsOf(prometheus);
    expect(mounts.get('/etc/prometheus/prometheus.yml')).toBe(join(ROOT, 'deploy/prometheus/prometheus.yml'));
    const config = parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{
        metrics_path: string;
        basic_auth: { username_file: string; password_file: string };
        static_configs: Array<{ targets: string[] }>;
      }>;
    };
    const [job] = config.scrape_configs;
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.static_configs).toEqual([{ targets: [`dashboard:${FORCED.dashboard?.DASHBOARD_PORT}`] }]);
    // The entry point writes each variable to the file the configuration names.
    const script = (prometheus.entrypoint ?? []).join(' ');
    expect(script).toContain(`printf %s "$$DASHBOARD_USER" > ${job?.basic_auth.username_file}`);
    expect(script).toContain(`printf %s "$$DASHBOARD_PASSWORD" > ${job?.basic_auth.password_file}`);
    expect(script).toContain('--config.file=/etc/prometheus/prometheus.yml');
    // The rules it loads are deploy/prometheus/alerts.yml (and not their tests).
    const rules = [...mounts].filter(([target]) => target.startsWith('/etc/prometheus/rules/'));
    expect(rules).toEqual([['/etc/prometheus/rules/alerts.yml', join(ROOT, 'deploy/prometheus/alerts.yml')]]);
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
  });

  it('gives Grafana its provisioning, the dashboard where the provider looks, and this Prometheus', () => {
    const grafana = services.grafana as ComposeService;
    const mounts = mountsOf(grafana);
    expect(mounts.get('/etc/grafana/provisioning')).toBe(join(ROOT, 'deploy/grafana/provisioning'));
    const provider = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/wa-bulk.yml'), 'utf8'))
      .providers[0] as { options: { path: string } };
    expect(mounts.get(`${provider.options.path}/wa-bulk.json`)).toBe(join(ROOT, 'deploy/grafana/wa-bulk.json'));
    const source = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/wa-bulk.yml'), 'utf8'))
      .datasources[0] as { url: string };
    expect(source.url).toBe('http://prometheus:9090');
    expect(grafana.environment).toMatchObject({
      GF_SECURITY_ADMIN_USER: 'operator',
      GF_SECURITY_ADMIN_PASSWORD: PASSWORD,
    });
  });
});

suite("docker-compose.yml's archive profile", () => {
  let dir: string;
  let entrypoint: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wa-bulk-compose-'));
    writeFileSync(join(dir, '.env'), `DASHBOARD_PASSWORD=operator-password-1\nCALLBACK_TOKEN=${TOKEN}\n`);
    const [command, ...args] = compose as string[];
    const run = (profiles: string[]) =>
      spawnSync(
        command as string,
        [...args, '--project-directory', ROOT, '--env-file', join(dir, '.env'), ...profiles, 'config'],
        { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
      );
    // Without POSTGRES_PASSWORD the default profile's configuration is still whole.
    const plain = run([]);
    if (plain.status !== 0) throw new Error(`${compose?.join(' ')} config failed: ${plain.stderr}`);
    const archive = run(['--profile', 'archive']);
    if (archive.status !== 0) throw new Error(`${compose?.join(' ')} config failed: ${archive.stderr}`);
    const postgres = (parse(archive.stdout) as { services: Record<string, { entrypoint?: string[] }> }).services
      .postgres;
    // Compose prints `$$` as written; the container's shell sees `$`.
    entrypoint = (postgres?.entrypoint ?? []).map((part) => part.replaceAll('$$', '$'));
    // The image's own entry point, standing in: says it was started and with what.
    writeFileSync(join(dir, 'docker-entrypoint.sh'), '#!/bin/sh\necho "started $*"\n', { mode: 0o755 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = (password: string) =>
    spawnSync(entrypoint[0] as string, entrypoint.slice(1), {
      encoding: 'utf8',
      env: { PATH: `${dir}:${process.env.PATH}`, POSTGRES_PASSWORD: password },
    });

  it('stops PostgreSQL with a line naming POSTGRES_PASSWORD when it is empty, before the image starts', () => {
    const run = start('');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^postgres: set POSTGRES_PASSWORD in \.env/);
  });

  it("starts the image's PostgreSQL when the password is set", () => {
    const run = start('a-password');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('started postgres\n');
  });
});
