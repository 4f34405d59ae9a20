import type { Command, Flag } from './declaration.js';

/**
 * The help text, rendered from the declarations: `wa-bulk --help` lists each command's summary,
 * `wa-bulk <command> --help` prints its usage, arguments, flags and notes, and a command's usage errors quote
 * its first form.
 */

const WIDTH = 116;
/** The left column of the argument and flag rows; a longer name puts its help on the next line. */
const NAME_COLUMN = 28;

/** How the usage and the docs name a flag: `--campaign ID`, `--format jsonl|csv`, `--json`. */
export function flagLabel(name: string, flag: Flag): string {
  if (flag.type === 'boolean') return `--${name}`;
  const value = flag.type === 'choice' ? (flag.value ?? flag.choices.join('|')) : flag.value;
  return `--${name} ${value}`;
}

/**
 * The usage in one line, for the command's usage errors: its first form, up to where --help would wrap it,
 * and a pointer to --help when that leaves something out.
 */
export function synopsis(command: Command): string {
  const lines = usage(command);
  return lines.length === 1 ? (lines[0] as string) : `${lines[0]} … (see "wa-bulk ${command.name} --help")`;
}

/** The usage lines: each form wrapped, the first after `usage: `. */
function usage(command: Command): string[] {
  const lead = `wa-bulk ${command.name} `;
  const forms = command.usage.length > 0 ? command.usage : [''];
  return forms.flatMap((form, i) => wrapForm(`${i === 0 ? 'usage: ' : '       '}${lead}`, form));
}

/** What `wa-bulk <command> --help` prints. */
export function help(command: Command): string {
  const rows = [
    ...(command.args ?? []).map((arg) => row(arg.name, arg.help)),
    ...Object.entries(command.flags).map(([name, flag]) => row(flagLabel(name, flag), flagHelp(flag))),
  ];
  const paragraphs = [
    usage(command).join('\n'),
    rows.join('\n'),
    ...(command.notes ?? []).map((note) => wrap(note, '')),
  ];
  return paragraphs.filter(Boolean).join('\n\n');
}

/** What `wa-bulk --help` prints. */
export function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: wa-bulk <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '"wa-bulk <command> --help" (or "wa-bulk help <command>") shows its options; docs/cli.md describes them all.',
    'Configuration comes from the environment (and .env); see docs/configuration.md.',
  ].join('\n');
}

function flagHelp(flag: Flag): string {
  const notes = [
    flag.type !== 'boolean' && flag.default !== undefined && `default ${shown(flag.default)}`,
    flag.type === 'string' && flag.required && 'required',
  ].filter(Boolean);
  return notes.length > 0 ? `${flag.help} (${notes.join(', ')})` : flag.help;
}

const shown = (value: string | number): string =>
  typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value);

/** `  NAME   help`, the help wrapped in its column. */
function row(name: string, text: string): string {
  const indent = ' '.repeat(2 + NAME_COLUMN + 2);
  if (name.length > NAME_COLUMN) return `  ${name}\n${wrap(text, indent)}`;
  return `  ${name.padEnd(NAME_COLUMN)}  ${wrap(text, indent).slice(indent.length)}`;
}

/** Words to lines of at most WIDTH characters, each starting with indent. */
function wrap(text: string, indent: string): string {
  return fill(text.split(' '), indent, indent).join('\n');
}

/** A usage form after its lead, wrapped between bracketed groups, continued under the first group. */
function wrapForm(lead: string, form: string): string[] {
  const groups: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= form.length; i++) {
    const c = form[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if ((c === ' ' || c === undefined) && depth === 0) {
      if (i > start) groups.push(form.slice(start, i));
      start = i + 1;
    }
  }
  return fill(groups, lead, ' '.repeat(lead.length)).map((line) => line.trimEnd());
}

/** Words joined by spaces into lines of at most WIDTH characters (a longer word stands alone). */
function fill(words: string[], first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}
