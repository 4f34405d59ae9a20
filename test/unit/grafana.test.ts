import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { dashboardQueries, panelsOf, readDashboard, withoutGrafanaVariables } from '../helpers/promql.js';
import { requireTool } from '../helpers/tools.js';

/**
 * deploy/grafana: the dashboard names the provisioned data source by its fixed uid everywhere (no `__inputs`,
 * which file provisioning cannot resolve), its panels are laid out on Grafana's 24-column grid without
 * overlapping, and every query is valid PromQL (promtool). That the metrics exist is checked against a real
 * scrape in test/integration/observability.test.ts.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dashboard = readDashboard();
const panels = panelsOf(dashboard).filter((panel) => panel.type !== 'row');
const datasources = (
  parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/wa-bulk.yml'), 'utf8')) as {
    datasources: Array<{ uid: string; type: string; url: string }>;
  }
).datasources;
const providers = (
  parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/wa-bulk.yml'), 'utf8')) as {
    providers: Array<{ type: string; options: { path: string } }>;
  }
).providers;

describe('the Grafana dashboard', () => {
  it('has a uid, a title and panel ids of its own', () => {
    expect(dashboard.uid).toBe('wa-bulk');
    expect(dashboard.title).toBe('wa-bulk');
    const ids = panelsOf(dashboard).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.stringify(dashboard)).not.toContain('__inputs');
    expect(JSON.stringify(dashboard)).not.toContain('${DS_');
  });

  it('names the provisioned Prometheus data source by its uid in every panel, query and variable', () => {
    expect(datasources).toHaveLength(1);
    const source = { type: 'prometheus', uid: datasources[0]?.uid };
    expect(source.uid).toBe('wa-bulk-prometheus');
    for (const panel of panels) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: source });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(source);
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource).toEqual(source);
  });

  it('lays its panels out on the 24-column grid, none overlapping another', () => {
    const cells = new Map<string, string>();
    for (const panel of panelsOf(dashboard)) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let col = x; col < x + w; col++)
        for (let row = y; row < y + h; row++) {
          expect(cells.get(`${col},${row}`)).toBeUndefined();
          cells.set(`${col},${row}`, panel.title);
        }
    }
  });

  it('shows what the operations guide promises: lanes, limiter waits, latency, dead letters, funnel, queues, Redis, archive', () => {
    const exprs = dashboardQueries(dashboard)
      .map((q) => q.expr)
      .join('\n');
    for (const metric of [
      'wa_bulk_sender_sent_total',
      'wa_bulk_limiter_waits_total',
      'wa_bulk_http_request_duration_seconds_bucket',
      'wa_bulk_messages_dead_total',
      'wa_bulk_delivery_total',
      'wa_bulk_queue_jobs',
      'wa_bulk_redis_up',
      'wa_bulk_archive_backlog',
    ])
      expect(exprs).toContain(metric);
  });
});

describe("Grafana's provisioning", () => {
  it('loads dashboards from files at one path (where compose mounts deploy/grafana/wa-bulk.json)', () => {
    expect(providers).toEqual([
      expect.objectContaining({
        type: 'file',
        options: expect.objectContaining({ path: '/etc/grafana/dashboards' }),
      }),
    ]);
  });
});

const promtool = requireTool('promtool', 'apt-get install -y prometheus', 'the PromQL checks of the Grafana dashboard');
const withPromtool = promtool ? describe : describe.skip;

withPromtool("the dashboard's queries", () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wa-bulk-grafana-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** promtool check rules on the expressions as recording rules (Grafana's variables replaced). */
  const check = (exprs: string[]) => {
    const file = join(scratch, 'queries.yml');
    const rules = exprs.map((expr, i) => ({ record: `wa_bulk_dashboard:query_${i}`, expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    return spawnSync(promtool as string, ['check', 'rules', file], { encoding: 'utf8' });
  };

  it('are all valid PromQL', () => {
    const queries = dashboardQueries(dashboard);
    const result = check(queries.map((q) => withoutGrafanaVariables(q.expr)));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(result.status).toBe(0);
  });

  it('would be caught if one were not', () => {
    const result = check(['max by (from) (rate(wa_bulk_sender_sent_total[5m])']);
    expect(result.status).toBe(1);
  });
});
