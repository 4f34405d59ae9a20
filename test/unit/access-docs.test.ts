import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { Need } from '../../src/access/roles.js';
import { ROUTE_ROLES, routeOf } from '../../src/http/route-roles.js';

/** docs/http-api.md's routes table, held to the route table the access middleware reads. */

const WORD: Record<Need, string> = {
  send: 'send',
  'read-one': 'any',
  read: 'read',
  control: 'control',
  admin: 'admin',
};

function documented(): Map<string, string> {
  const page = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const line of page.split('\n')) {
    const match = /^\| `([^`]+)` \| (\w+) \|/.exec(line);
    if (match) rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

describe('the role of every route', () => {
  test('docs/http-api.md lists every route of the table with its role, and no other route needing a role', () => {
    const table = new Map(
      ROUTE_ROLES.map((row) => [
        row.method === 'ANY' ? row.path.replace(/\/\*$/, '') : `${row.method} ${row.path}`,
        WORD[row.need],
      ]),
    );
    const page = new Map([...documented()].filter(([, role]) => role !== 'public'));
    expect(Object.fromEntries(page)).toEqual(Object.fromEntries(table));
  });

  test('matches paths as Express does: one segment a parameter, any case, a trailing slash, HEAD as GET', () => {
    expect(routeOf('GET', '/api/campaigns/spring')?.row.need).toBe('read-one');
    expect(routeOf('HEAD', '/API/Campaigns/spring/')?.params).toEqual({ id: 'spring' });
    expect(routeOf('GET', '/api/campaigns/spring/messages')?.row.need).toBe('read');
    expect(routeOf('GET', '/api/campaigns/spring/sends')).toBeUndefined();
    expect(routeOf('POST', '/api/campaigns/a%20b/pause')?.params).toEqual({ id: 'a b' });
    expect(routeOf('PUT', '/queues/api/queues/send/pause')?.row.need).toBe('admin');
    expect(routeOf('GET', '/queuesx')).toBeUndefined();
    expect(routeOf('DELETE', '/api/campaigns/x')).toBeUndefined();
  });
});
