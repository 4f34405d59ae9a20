import { describe, expect, test } from '@jest/globals';
import { parse } from '../../src/cli/args.js';
import { ENQUEUE } from '../../src/cli/commands/enqueue.decl.js';
import type { Command } from '../../src/cli/declaration.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { flagLabel, help, overview, synopsis } from '../../src/cli/usage.js';

/** The parser and the help text, both read from a command's declaration. */

const SAMPLE = {
  name: 'sample',
  summary: 'a command for the tests',
  usage: ['ACTION [--campaign ID] [--port N] [--share F] [--format jsonl|csv] [--label TEXT] [--json]'],
  args: [{ name: 'ACTION', help: 'what to do' }],
  flags: {
    campaign: { type: 'string', value: 'ID', help: 'the campaign' },
    port: { type: 'int', value: 'N', min: 1, default: 4010, help: 'port' },
    share: { type: 'rate', value: 'F', help: 'a share' },
    format: { type: 'choice', choices: ['jsonl', 'csv'], default: 'jsonl', help: 'the format' },
    label: { type: 'string', value: 'TEXT', required: true, help: 'a label' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  notes: ['Exit 1 when it fails.'],
} as const satisfies Command;

const NO_ARGS = { name: 'plain', summary: 'no arguments', usage: [], flags: {} } as const satisfies Command;

/** The message of the UsageError that parse throws, or undefined. */
function usageError(command: Command, argv: string[]): string | undefined {
  try {
    parse(command, argv);
    return undefined;
  } catch (error) {
    expect((error as Error).name).toBe('UsageError');
    return (error as Error).message;
  }
}

describe('the command declarations', () => {
  test("each command's --help lists every argument and flag it declares, with its value", () => {
    for (const command of COMMANDS) {
      const text = help(command);
      const rows = [
        ...(command.args ?? []).map((arg) => arg.name),
        ...Object.entries(command.flags).map(([name, flag]) => flagLabel(name, flag)),
      ];
      expect({ command: command.name, missing: rows.filter((row) => !text.includes(`\n  ${row} `)) }).toEqual({
        command: command.name,
        missing: [],
      });
      expect(text.startsWith(`usage: wa-bulk ${command.name}`)).toBe(true);
    }
  });

  test('wa-bulk --help lists every command with its summary', () => {
    const text = overview(COMMANDS);
    for (const command of COMMANDS) expect(text).toMatch(new RegExp(`\\n  ${command.name} +${command.summary}\\n`));
  });

  test('a long usage form is wrapped between bracketed groups, under its first group, and loses none of them', () => {
    const usage = help(ENQUEUE).split('\n\n')[0] as string;
    const lines = usage.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(116);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {23}\[/);
    expect(usage.replace(/\s+/g, ' ')).toBe(`usage: wa-bulk enqueue ${ENQUEUE.usage[0]}`);
    expect(synopsis(ENQUEUE)).toBe(`${lines[0]} … (see "wa-bulk enqueue --help")`);
    expect(synopsis(SAMPLE)).toBe(`usage: wa-bulk sample ${SAMPLE.usage[0]}`);
  });

  test('help shows defaults, required flags and the closing notes', () => {
    const text = help(SAMPLE);
    expect(text).toContain('  --port N                      port (default 4010)\n');
    expect(text).toContain('  --label TEXT                  a label (required)\n');
    expect(text.endsWith('\n\nExit 1 when it fails.')).toBe(true);
    expect(help(NO_ARGS)).toBe('usage: wa-bulk plain');
  });

  test('parse converts each value by its type, fills in defaults, and leaves booleans false when absent', () => {
    expect(parse(SAMPLE, ['go', '--label', 'x', '--share', '0.25', '--format', 'csv'])).toEqual({
      values: {
        campaign: undefined,
        port: 4010,
        share: 0.25,
        format: 'csv',
        label: 'x',
        json: false,
      },
      positionals: ['go'],
    });
    expect(parse(SAMPLE, ['--label=y', '--port', '80', '--json']).values).toMatchObject({
      port: 80,
      format: 'jsonl',
      json: true,
    });
  });

  test('parse names the flag, in one line, when the command line is wrong', () => {
    const label = ['--label', 'x'];
    expect(usageError(SAMPLE, ['--port', '0', ...label])).toBe('--port: expected an integer >= 1, got "0"');
    expect(usageError(SAMPLE, ['--port', '1.5', ...label])).toBe('--port: expected an integer >= 1, got "1.5"');
    expect(usageError(SAMPLE, ['--share', '2', ...label])).toBe(
      '--share: expected a fraction between 0 and 1, got "2"',
    );
    expect(usageError(SAMPLE, ['--format', 'xml', ...label])).toBe('--format: expected jsonl or csv, got "xml"');
    expect(usageError(SAMPLE, [])).toBe('--label is required ("wa-bulk sample --help" shows the usage)');
    expect(usageError(SAMPLE, ['--nope', ...label])).toMatch(/^Unknown option '--nope'/);
    expect(usageError(NO_ARGS, ['extra'])).toMatch(/^Unexpected argument 'extra'/);
    for (const argv of [['--port', '0', ...label], []]) expect(usageError(SAMPLE, argv)).not.toContain('\n');
  });
});
