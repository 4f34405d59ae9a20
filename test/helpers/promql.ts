import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** PromQL keywords and the special numbers: identifiers in an expression that are not metric names. */
const NOT_METRICS = new Set([
  ...['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'],
  ...['inf', 'nan', 'Inf', 'NaN'],
]);

/**
 * The metric names a PromQL expression reads. Strings, label matchers ({…}), ranges ([…]), the label lists of
 * by/without/on/ignoring/group_left/group_right and Grafana's $variables are removed first; what is left that
 * is not a function call (a name before "("), a keyword or a number is a metric name.
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (!call && !NOT_METRICS.has(name as string)) names.add(name as string);
  }
  return [...names];
}

/** Grafana's variables replaced by what Prometheus itself accepts, for checking an expression with promtool. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?lane\}?/g, '.*');
}

export interface DashboardQuery {
  /** The panel's title (or the variable's name) and the query's refId. */
  where: string;
  expr: string;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string; datasource?: { type: string; uid: string } }>;
  panels?: Panel[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; datasource?: { uid: string }; definition?: string }> };
}

export const DASHBOARD_FILE = fileURLToPath(new URL('../../deploy/grafana/wa-bulk.json', import.meta.url));

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL expression of the dashboard: the panels' targets and the query variables' label_values(…). */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = panelsOf(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `${panel.title} ${target.refId}`, expr: target.expr })),
  );
  for (const variable of dashboard.templating.list) {
    const labelValues = /^label_values\((.+),\s*\w+\)$/.exec(variable.definition ?? '');
    if (labelValues) queries.push({ where: `variable ${variable.name}`, expr: labelValues[1] as string });
  }
  return queries;
}
