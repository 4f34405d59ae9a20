/**
 * The shape of a command's declaration: the one place that says what a command accepts. args.ts parses argv
 * by it, usage.ts renders `--help` from it, and test/unit/cli-docs.test.ts holds docs/cli.md and the README to
 * it. Types only: the declarations (`commands/*.decl.ts`) import nothing else, so that `wa-bulk --help` and the
 * tests read them without loading a command (registry.ts says why).
 */

interface FlagBase {
  /** One line for `--help`. */
  readonly help: string;
}

/** A flag and its value: each type says how its value is read and checked. */
export type Flag =
  | (FlagBase & { readonly type: 'boolean' })
  | (FlagBase & {
      readonly type: 'string';
      /** The value's name in the usage, e.g. `ID`, `TIME`. */
      readonly value: string;
      readonly default?: string;
      /** The command cannot run without it: `--NAME is required`. */
      readonly required?: true;
      /** A campaign id: checked as every campaign id from outside is (messages/ids.ts). */
      readonly campaignId?: true;
      /** May be given more than once: the values are joined with commas (a comma list, as one value may be). */
      readonly repeatable?: true;
    })
  | (FlagBase & {
      /**
       * A whole number from min (default 0) to max (default the largest safe integer):
       * `--NAME: expected an integer >= MIN, got "…"`, or `from MIN to MAX` when max is declared.
       */
      readonly type: 'int';
      readonly value: string;
      readonly min?: number;
      readonly max?: number;
      readonly default?: number;
    })
  | (FlagBase & {
      /** A fraction between 0 and 1: `--NAME: expected a fraction between 0 and 1, got "…"`. */
      readonly type: 'rate';
      readonly value: string;
      readonly default?: number;
    })
  | (FlagBase & {
      /** One of `choices`: `--NAME: expected a, b or c, got "…"`. */
      readonly type: 'choice';
      readonly choices: readonly string[];
      /** The value's name in the usage; by default the choices, `a|b|c`. */
      readonly value?: string;
      readonly default?: string;
    });

/** A positional argument or an action (`FILE`, `add NUMBER…`, `list`), as its docs table row names it. */
export interface Arg {
  readonly name: string;
  readonly help: string;
}

export interface Command {
  readonly name: string;
  /** One line for `wa-bulk --help`. */
  readonly summary: string;
  /** Each form of the command after `wa-bulk NAME`; usage.ts wraps a long one. */
  readonly usage: readonly string[];
  /** Its positional arguments and actions; a command without them takes none. */
  readonly args?: readonly Arg[];
  /** Its flags by name, without the `--`, in the order `--help` lists them. */
  readonly flags: Readonly<Record<string, Flag>>;
  /** Paragraphs after the flags: what it does, its exit codes. */
  readonly notes?: readonly string[];
}

/** The longest delay a timer can wait (Node's setTimeout: 2^31 - 1 ms, about 24.8 days): the bound of `-ms` flags. */
export const MAX_DELAY_MS = 2_147_483_647;
