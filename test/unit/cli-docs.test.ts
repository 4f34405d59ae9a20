import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Command } from '../../src/cli/declaration.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { flagLabel } from '../../src/cli/usage.js';

/**
 * docs/cli.md and the README's list of commands, held to the declarations that the parser and --help come from:
 * a section per command, its usage, and a table row for each argument and flag it takes and for nothing else.
 */

const read = (page: string): string => readFileSync(new URL(`../../${page}`, import.meta.url), 'utf8');
const CLI_DOCS = read('docs/cli.md').split('\n');

/** The lines of docs/cli.md's `## wa-bulk NAME` section, up to the next `## ` heading. */
function section(name: string): string[] {
  const start = CLI_DOCS.indexOf(`## wa-bulk ${name}`);
  if (start === -1) return [];
  const end = CLI_DOCS.findIndex((line, i) => i > start && line.startsWith('## '));
  return CLI_DOCS.slice(start + 1, end === -1 ? undefined : end);
}

/** The first cells of a section's table rows, code spans unwrapped: `--campaign ID`, `FILE`, `add NUMBER…`. */
function rowNames(name: string): string[] {
  return section(name).flatMap((line) => {
    const cell = /^\|\s*`((?:[^`\\]|\\.)*)`\s*\|/.exec(line)?.[1];
    return cell === undefined ? [] : [cell.replaceAll('\\|', '|')];
  });
}

const flagRows = (name: string) => rowNames(name).filter((cell) => cell.startsWith('--'));
const flagOf = (cell: string) => /^--[\w-]+/.exec(cell)?.[0] ?? cell;
const labels = (command: Command) => Object.entries(command.flags).map(([name, flag]) => flagLabel(name, flag));

/** The forms of the section's first code block, each on one line: `wa-bulk enqueue FILE|- --campaign ID …`. */
function usageForms(name: string): string[] {
  const lines = section(name);
  const open = lines.findIndex((line) => line.startsWith('```'));
  const close = lines.findIndex((line, i) => i > open && line.startsWith('```'));
  const forms: string[] = [];
  for (const line of open === -1 ? [] : lines.slice(open + 1, close)) {
    if (line.startsWith('wa-bulk ')) forms.push(line.trim());
    else forms[forms.length - 1] += ` ${line.trim()}`;
  }
  return forms;
}

describe('docs/cli.md and the README against the command declarations', () => {
  test('docs/cli.md has a "wa-bulk NAME" section for every declared command, and none for anything else', () => {
    const documented = CLI_DOCS.flatMap((line) => /^## wa-bulk (\S+)$/.exec(line)?.[1] ?? []);
    expect(documented.sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  test("every flag a command declares has a row in its section's table", () => {
    const missing = COMMANDS.flatMap((command) => {
      const rows = flagRows(command.name).map(flagOf);
      return Object.keys(command.flags)
        .filter((flag) => !rows.includes(`--${flag}`))
        .map((flag) => `wa-bulk ${command.name} --${flag}`);
    });
    expect(missing).toEqual([]);
  });

  test("no section's table lists a flag its command does not declare", () => {
    const unknown = COMMANDS.flatMap((command) =>
      flagRows(command.name)
        .filter((cell) => !Object.hasOwn(command.flags, flagOf(cell).slice(2)))
        .map((cell) => `wa-bulk ${command.name} ${cell}`),
    );
    expect(unknown).toEqual([]);
  });

  test("the table names each declared flag's value as the declaration does", () => {
    const wrong = COMMANDS.flatMap((command) =>
      labels(command).flatMap((label) => {
        const row = flagRows(command.name).find((cell) => flagOf(cell) === flagOf(label));
        return row === undefined || row === label ? [] : [`wa-bulk ${command.name}: "${row}", declared "${label}"`];
      }),
    );
    expect(wrong).toEqual([]);
  });

  test("the table's other rows are exactly the arguments and actions the command declares", () => {
    for (const command of COMMANDS) {
      const rows = rowNames(command.name).filter((cell) => !cell.startsWith('--'));
      expect({ command: command.name, rows }).toEqual({
        command: command.name,
        rows: (command.args ?? []).map((arg) => arg.name),
      });
    }
  });

  test('the usage block of each section shows the forms the declaration gives, in order', () => {
    for (const command of COMMANDS) {
      const forms = command.usage.length > 0 ? command.usage : [''];
      expect(usageForms(command.name).map((form) => form.replace(/\s+/g, ' '))).toEqual(
        forms.map((form) => `wa-bulk ${command.name} ${form}`.trim()),
      );
    }
  });

  test("README.md's list of commands names every declared command, and no other", () => {
    const listed = read('README.md')
      .split('\n')
      .flatMap((line) => /^\| `wa-bulk ([a-z-]+)` \|/.exec(line)?.[1] ?? []);
    expect(listed.sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });
});
