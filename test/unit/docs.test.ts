import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../src/config.js';

/**
 * The documentation is checked against the code and against itself: the configuration table lists exactly the
 * schema's variables with their defaults, every table is well formed, every relative link and anchor resolves,
 * and the README stays short.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const README_MAX_BYTES = 14_000;

/**
 * Variables whose schema default is not a plain value the table can show as it is. Each needs a reason.
 * SENDER_RATES: its default is an empty map of per-number overrides, which the table shows as "none".
 */
const DEFAULT_EXCEPTIONS = new Set(['SENDER_RATES']);

const read = (page: string): string => readFileSync(join(ROOT, page), 'utf8');

/** The page's lines with those of fenced code blocks blanked, so that line numbers stay right. */
function withoutFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (marker) {
      const run = marker[1] as string;
      if (fence === undefined) {
        fence = run;
        return '';
      }
      if (run[0] === fence[0] && run.length >= fence.length && (marker[2] ?? '').trim() === '') fence = undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** Splits a table row into its cells; `\|` is a pipe inside a cell. */
function cellsOf(row: string): string[] {
  let body = row.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  return body.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

interface Table {
  line: number;
  header: string[];
  rows: Array<{ line: number; cells: string[] }>;
}

const DELIMITER_ROW = /^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function tablesOf(page: string): Table[] {
  const lines = withoutFences(read(page));
  const tables: Table[] = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const head = lines[i] as string;
    if (!head.trim().startsWith('|') || !DELIMITER_ROW.test((lines[i + 1] as string).trim())) continue;
    const table: Table = {
      line: i + 1,
      header: cellsOf(head),
      rows: [{ line: i + 2, cells: cellsOf(lines[i + 1] as string) }],
    };
    let j = i + 2;
    for (; j < lines.length && (lines[j] as string).trim().startsWith('|'); j++)
      table.rows.push({ line: j + 1, cells: cellsOf(lines[j] as string) });
    tables.push(table);
    i = j - 1;
  }
  return tables;
}

/** The one table of docs/configuration.md headed "variable | meaning | default". */
function configurationTable(): Array<{ line: number; variable: string; defaultCell: string }> {
  const tables = tablesOf('docs/configuration.md').filter((t) => t.header.join('|') === 'variable|meaning|default');
  expect(tables).toHaveLength(1);
  const [, ...rows] = (tables[0] as Table).rows;
  return rows.map((row) => {
    const first = row.cells[0] ?? '';
    return {
      line: row.line,
      variable: /^`([A-Z][A-Z0-9_]*)`$/.exec(first)?.[1] ?? first,
      defaultCell: row.cells[2] ?? '',
    };
  });
}

/** GitHub's heading anchors: lowercase, punctuation dropped except "-" and "_", each space a "-"; repeats get -1, -2, … */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(read(page))) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every inline link and image of the page outside code, with its line. */
function linksOf(page: string): Array<{ line: number; target: string }> {
  // Code spans may run over several lines; blank them (keeping the line breaks) before looking for links.
  const text = withoutFences(read(page))
    .join('\n')
    .replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' '));
  const links: Array<{ line: number; target: string }> = [];
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
    links.push({ line: text.slice(0, match.index).split('\n').length, target: match[1] as string });
  }
  return links;
}

/** Why a relative link does not resolve, or undefined when it does. */
function brokenLink(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const hash = target.indexOf('#');
  const path = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : target.slice(hash + 1);
  const file = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), decodeURIComponent(path));
  if (!existsSync(file)) return `no file ${relative(ROOT, file)}`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return `an anchor into ${relative(ROOT, file)}, which is not a page`;
  return anchorsOf(relative(ROOT, file)).has(anchor) ? undefined : `no heading #${anchor} in ${relative(ROOT, file)}`;
}

describe('documentation', () => {
  test('the configuration table has one row for every variable of the schema, and none for anything else', () => {
    const documented = configurationTable().map((row) => row.variable);
    const variables = Object.keys(configSchema.shape);
    const missing = variables.filter((name) => !documented.includes(name));
    const unknown = documented.filter((name) => !variables.includes(name));
    const repeated = documented.filter((name, i) => documented.indexOf(name) !== i);
    expect({ missing, unknown, repeated }).toEqual({ missing: [], unknown: [], repeated: [] });
  });

  test("the configuration table's default column shows each schema default, and none where there is no default", () => {
    const parsed = configSchema.safeParse({});
    expect(parsed.success).toBe(true);
    // An optional variable without a default is absent from the result.
    const defaults = parsed.data as Record<string, unknown>;
    const variables = Object.keys(configSchema.shape);
    const wrong: string[] = [];
    for (const { line, variable, defaultCell } of configurationTable()) {
      if (DEFAULT_EXCEPTIONS.has(variable) || !variables.includes(variable)) continue;
      const value = defaults[variable];
      const cell = defaultCell.replace(/`/g, '');
      if (value === undefined) {
        if (!/^none\b/.test(cell))
          wrong.push(`line ${line}: ${variable} has no default, but the table says "${defaultCell}"`);
        continue;
      }
      const shown = Array.isArray(value) ? value.join(',') : String(value);
      const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (!new RegExp(`(?<![\\w.])${escaped}(?![\\w.])`).test(cell))
        wrong.push(`line ${line}: ${variable} defaults to ${shown}, but the table says "${defaultCell}"`);
    }
    expect(wrong).toEqual([]);
  });

  test("README's essential variables are the schema's, with the schema's defaults where a row names one", () => {
    const table = tablesOf('README.md').find((t) => t.header[0] === 'variable');
    expect(table).toBeDefined();
    const defaults = configSchema.safeParse({}).data as Record<string, unknown>;
    const variables = Object.keys(configSchema.shape);
    const wrong: string[] = [];
    for (const row of (table as Table).rows) {
      const [names = '', , defaultCell = ''] = row.cells;
      const named = [...names.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string);
      for (const name of named)
        if (!variables.includes(name)) wrong.push(`line ${row.line}: ${name} is not a variable`);
      if (named.length !== 1 || DEFAULT_EXCEPTIONS.has(named[0] as string)) continue;
      const value = defaults[named[0] as string];
      if (value !== undefined && !defaultCell.replace(/`/g, '').includes(String(value)))
        wrong.push(`line ${row.line}: ${named[0]} defaults to ${String(value)}, but README says "${defaultCell}"`);
    }
    expect(wrong).toEqual([]);
  });

  test('every table row in README.md and docs/*.md has as many cells as its header', () => {
    const wrong: string[] = [];
    for (const page of PAGES) {
      for (const table of tablesOf(page)) {
        for (const row of table.rows) {
          if (row.cells.length !== table.header.length)
            wrong.push(
              `${page}:${row.line}: ${row.cells.length} cells, its header (line ${table.line}) has ${table.header.length}`,
            );
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test('every relative link and anchor in README.md and docs/*.md resolves', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const { line, target } of linksOf(page)) {
        const why = brokenLink(page, target);
        if (why) broken.push(`${page}:${line}: (${target}): ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('README.md links to every page of docs/', () => {
    const linked = new Set(linksOf('README.md').map(({ target }) => target.split('#')[0]));
    expect(PAGES.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });

  test(`README.md is at most ${README_MAX_BYTES.toLocaleString('en')} bytes`, () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThanOrEqual(README_MAX_BYTES);
  });
});
