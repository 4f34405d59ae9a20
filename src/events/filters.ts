import { ALL_EVENT_TYPES } from './operational.js';

/** Event filters of an endpoint: an event type (`message.read`), a group (`message.*`), or `*` (every event). */

const GROUPS = [...new Set(ALL_EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))))];

/** Why an event filter is not one (undefined when it is): a type, `group.*` or `*`. */
export function filterProblem(filter: string): string | undefined {
  if (filter === '*' || ALL_EVENT_TYPES.includes(filter)) return undefined;
  const group = /^([a-z_]+)\.\*$/.exec(filter)?.[1];
  if (group !== undefined && GROUPS.includes(group)) return undefined;
  return `"${filter}" is not an event type (${ALL_EVENT_TYPES.join(', ')}), "<group>.*" (${GROUPS.join(', ')}) or "*"`;
}

/** A comma-separated list of filters, checked; throws naming the first that is not one. */
export function parseFilters(text: string | undefined): string[] {
  const filters = (text ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const filter of filters) {
    const problem = filterProblem(filter);
    if (problem) throw new RangeError(problem);
  }
  return filters;
}

export function matchesFilters(filters: readonly string[], type: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}
