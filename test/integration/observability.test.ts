import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { hasPostgres, startPostgresServer, type PostgresHandle } from '../../src/dev/postgres-server.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';
import { campaignDone, until } from '../helpers/env.js';
import { Stack } from '../helpers/stack.js';
import { dashboardQueries, metricNamesOf, readDashboard } from '../helpers/promql.js';
import { requireTool } from '../helpers/tools.js';

/**
 * What Prometheus and Grafana are given to read: a real scrape of the dashboard's /metrics after a campaign
 * through the simulator (two sender lanes, 429s, server errors, dead letters, delivery callbacks, the long-term
 * ledger) passes `promtool check metrics`, and every metric the alert rules and the Grafana dashboard name is
 * in it (test/helpers/promql.ts reads the names out of the expressions).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'observability-token-0123456789';
const PASSWORD = 'observability-password';
const LANE = '8613800138001';

const promtool = requireTool('promtool', 'apt-get install -y prometheus', 'the checks of /metrics for Prometheus');
const postgres = hasPostgres();
if (!postgres) {
  const message = 'the checks of /metrics need PostgreSQL for the archive figures (apt-get install -y postgresql)';
  if (process.env.CI) throw new Error(`${message}: under CI it must be installed`);
  process.stdout.write(`${message}; skipped\n`);
}
const suite = promtool && postgres ? describe : describe.skip;

/**
 * Lint findings of `promtool check metrics` that stay, each for a reason ("non-counter metrics should not have
 * _total suffix"): prom-client's own default gauges of the dashboard process, and wa_bulk_delivery_total, a gauge
 * (its "failed" can go down) whose name existing dashboards use.
 */
const LINT_KEPT = new Set([
  'wa_bulk_dashboard_nodejs_active_handles_total',
  'wa_bulk_dashboard_nodejs_active_requests_total',
  'wa_bulk_dashboard_nodejs_active_resources_total',
  'wa_bulk_delivery_total',
]);

/** The metric families of a scrape (`# TYPE name type`), by name. */
function familiesOf(scrape: string): Map<string, string> {
  return new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** The name's family when the scrape exposes it: itself, or a histogram's (or summary's) _bucket, _sum, _count. */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const suffix = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!suffix) return undefined;
  const type = families.get(suffix[1] as string);
  if (type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket')) return suffix[1];
  return undefined;
}

describe('metricNamesOf', () => {
  it('finds the metric names of an expression, not its functions, labels, ranges or variables', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, from) (rate(a_bucket{from=~"$lane", x="y(z)"}[$__rate_interval]))) ' +
          '/ on(from) group_left(state) b > 5 and on() (sum(c_total offset 5m) or vector(0)) == bool 1',
      ).sort(),
    ).toEqual(['a_bucket', 'b', 'c_total']);
  });
});

suite('/metrics after a campaign', () => {
  let server: PostgresHandle | undefined;
  // One campaign for the whole suite: its stack is stopped after the last test.
  const stack = new Stack();
  let scrape = '';

  beforeAll(async () => {
    server = await startPostgresServer();
    const { sim, h, dashboard } = await stack.start({
      simulator: (dashboardUrl) => ({
        callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
        callbackDelayMs: 20,
        deliveryFailRate: 0.1,
        readRate: 0.5,
        // order_update (BODIES.template) is not among its templates: 4001, dead letters.
        templates: ['login_code'],
        faults: { rateLimit: 0.08, error1000: 0.04 },
        retryAfterSeconds: 1,
      }),
      config: { DATABASE_URL: server.url, DASHBOARD_PASSWORD: PASSWORD, CALLBACK_TOKEN: TOKEN, SEND_ATTEMPTS: 3 },
      dashboard: true,
    });
    const messages = Array.from({ length: 60 }, (_, i) => ({
      to: phone(i),
      body: i % 10 === 0 ? BODIES.template : i % 2 ? BODIES.otp : BODIES.text,
      request_id: `obs-${i}`,
      ...(i % 3 === 0 && { from: LANE }),
    }));
    await enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign: 'obs', ledger: h.ledger, queue: h.send });
    const worker = await stack.startWorker();
    await campaignDone(h.ledger, 'obs');
    await until(async () => sim.pendingCallbacks === 0 && (await h.ledger.campaign('obs'))!.delivery.read > 0);
    // The workers add their counters to Redis about once a second.
    await worker.close();
    const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    const response = await fetch(`${dashboard.url}/metrics`, { headers: auth });
    expect(response.status).toBe(200);
    scrape = await response.text();
  }, 120_000);

  afterAll(async () => {
    await stack.stop();
    await server?.stop();
  });

  it('holds samples of the histogram, the counters by label and both lanes', () => {
    expect(scrape).toMatch(/^wa_bulk_http_request_duration_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^wa_bulk_messages_dead_total\{code="4001"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^wa_bulk_http_responses_total\{status="429"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^wa_bulk_sender_sent_total\{from="default"\} [1-9]\d*$/m);
    expect(scrape).toMatch(new RegExp(`^wa_bulk_sender_sent_total\\{from="${LANE}"\\} [1-9]\\d*$`, 'm'));
    expect(scrape).toMatch(/^wa_bulk_delivery_total\{status="read"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^wa_bulk_archive_backlog \d+$/m);
  });

  it('passes promtool check metrics: it parses, and lints clean but for names kept on purpose', () => {
    const result = spawnSync(promtool as string, ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    // Exit 1 is a parse error; 3 means lint findings only, one line each: "<metric> <finding>".
    const findings = (result.stdout + result.stderr).split('\n').filter((line) => line.trim() !== '');
    expect(findings.map((line) => line.split(' ')[0]).filter((name) => !LINT_KEPT.has(name as string))).toEqual([]);
    expect(result.status).toBe(findings.length === 0 ? 0 : 3);
  });

  it("exposes every metric the alert rules read (a histogram's _bucket, _sum and _count by its family)", () => {
    const families = familiesOf(scrape);
    const rules = parse(readFileSync(`${ROOT}/deploy/prometheus/alerts.yml`, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const read = rules.groups.flatMap((g) =>
      g.rules.flatMap((r) => metricNamesOf(r.expr).map((name) => [r.alert, name])),
    );
    expect(read.length).toBeGreaterThan(10);
    expect(read.filter(([, name]) => familyOf(name as string, families) === undefined)).toEqual([]);
  });

  it("exposes every metric the Grafana dashboard's panels and variables read", () => {
    const families = familiesOf(scrape);
    const read = dashboardQueries(readDashboard()).flatMap(({ where, expr }) =>
      metricNamesOf(expr).map((name) => [where, name]),
    );
    expect(read.length).toBeGreaterThan(30);
    expect(read.filter(([, name]) => familyOf(name as string, families) === undefined)).toEqual([]);
  });
});
