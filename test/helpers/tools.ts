import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Outside programs some tests run (promtool, kubectl). Where one is missing a developer's run skips those tests
 * with a line saying what to install; under CI (CI set, as `.ci/run` runs) a missing tool fails the file, so a
 * check cannot go quiet because the machine lacks a package.
 */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * The tool's path; undefined (after one line) on a developer's machine without it; throws under CI, unless
 * `installable` is false: a tool no package source this project uses offers (kubectl) is skipped there too,
 * with the same line, rather than failing a CI machine whose image lacks it.
 */
export function requireTool(name: string, install: string, what: string, installable = true): string | undefined {
  const path = findTool(name);
  if (path) return path;
  const need = `${name} (${install})`;
  if (process.env.CI && installable) throw new Error(`${what} need ${need}: under CI it must be present`);
  process.stdout.write(`${what} skipped: no ${need}\n`);
  return undefined;
}
