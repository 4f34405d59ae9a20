import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { requireTool } from '../helpers/tools.js';

/**
 * deploy/prometheus/alerts.yml: promtool accepts the rules and their unit tests pass (Debian's promtool 2.42,
 * the `prometheus` package), every alert is tested firing and quiet, and every alert has a severity, a summary,
 * a description and a runbook that exists in docs/operations.md.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/alerts.yml');
const TESTS = join(ROOT, 'deploy/prometheus/alerts.test.yml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts?: unknown[] }>;
}

const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const alerts = groups.flatMap((group) => group.rules).filter((rule): rule is Rule & { alert: string } => !!rule.alert);
const ruleTests = (parse(readFileSync(TESTS, 'utf8')) as { tests: RuleTest[] }).tests;

/** GitHub's anchors of the page's headings (lowercase, punctuation but "-" and "_" dropped, spaces as "-"). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (heading)
      anchors.add(
        (heading[1] as string)
          .replace(/[`*]/g, '')
          .toLowerCase()
          .replace(/[^\p{L}\p{N}_ -]/gu, '')
          .replace(/ /g, '-'),
      );
  }
  return anchors;
}

describe('alert rules', () => {
  it('are the alerts the operations guide lists, one group or more, each alert named once', () => {
    expect(groups.length).toBeGreaterThan(0);
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    const guide = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    const listed = [...guide.matchAll(/^\| \[(WaBulk\w+)\]\(#\w+\) \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...names].sort());
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    '%s has a severity, a summary, a description and a runbook section in docs/operations.md',
    (name, rule) => {
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.stringMatching(/\S/));
      expect(rule.annotations?.description).toEqual(expect.stringMatching(/\S/));
      const anchor = name.toLowerCase();
      expect(rule.annotations?.runbook_url).toBe(`docs/operations.md#${anchor}`);
      expect(anchorsOf(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8'))).toContain(anchor);
    },
  );

  it.each(alerts.map((a) => [a.alert] as const))('%s is tested both firing and quiet', (name) => {
    const cases = ruleTests.flatMap((t) => (t.alert_rule_test ?? []).filter((c) => c.alertname === name));
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
  });
});

const promtool = requireTool('promtool', 'apt-get install -y prometheus', 'the promtool checks of the alert rules');
const withPromtool = promtool ? describe : describe.skip;

withPromtool('promtool', () => {
  const run = (...args: string[]) => spawnSync(promtool as string, args, { cwd: ROOT, encoding: 'utf8' });
  const scratch = mkdtempSync(join(tmpdir(), 'wa-bulk-alerts-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('check rules accepts every rule', () => {
    const result = run('check', 'rules', RULES);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`);
    expect(result.status).toBe(0);
  });

  it('test rules passes the unit tests of every alert', () => {
    const result = run('test', 'rules', TESTS);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('test rules fails when an expectation is wrong (the tests are really run)', () => {
    copyFileSync(RULES, join(scratch, 'alerts.yml'));
    const tests = readFileSync(TESTS, 'utf8').replace(/severity: critical/, 'severity: warning');
    writeFileSync(join(scratch, 'alerts.test.yml'), tests);
    const result = run('test', 'rules', join(scratch, 'alerts.test.yml'));
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain('FAILED');
  });
});
