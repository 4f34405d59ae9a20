import type { Need } from '../access/roles.js';

/**
 * What each route of the dashboard needs (src/access/roles.ts), and the name its changes have in the audit
 * log. The one table: the access middleware (access.ts) reads it for every request, docs/http-api.md lists
 * it, and a test holds the app's routes, this table and the page to each other.
 *
 * A request that matches no row needs `admin`, so a route added without a row here is closed to every key but
 * an admin one (and the operator's login), never open. Paths are matched as Express matches them: a `:name`
 * is one segment, letters in any case, an optional trailing slash; `/*` matches the path and all under it.
 */

export interface RouteRole {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'ANY';
  path: string;
  need: Need;
  /** The audit log's name for what a changing request does (`GET`s are not audited). */
  action?: string;
}

export const ROUTE_ROLES: readonly RouteRole[] = [
  { method: 'POST', path: '/api/campaigns/:id/messages', need: 'send', action: 'messages.enqueue' },
  { method: 'GET', path: '/api/campaigns/:id', need: 'read-one' },
  { method: 'GET', path: '/api/messages/:request_id', need: 'read-one' },
  { method: 'GET', path: '/api/openapi.json', need: 'read-one' },
  { method: 'GET', path: '/api/docs', need: 'read-one' },
  { method: 'GET', path: '/api/campaigns', need: 'read' },
  { method: 'GET', path: '/api/campaigns/:id/export', need: 'read' },
  { method: 'GET', path: '/api/campaigns/:id/messages', need: 'read' },
  { method: 'GET', path: '/api/campaigns/:id/timeline', need: 'read' },
  { method: 'GET', path: '/api/campaigns/:id/dead-letters', need: 'read' },
  { method: 'GET', path: '/api/campaigns/:id/rejects', need: 'read' },
  { method: 'GET', path: '/api/suppressions', need: 'read' },
  { method: 'GET', path: '/api/callbacks/unknown', need: 'read' },
  { method: 'POST', path: '/api/messages/:request_id/remove', need: 'control', action: 'message.remove' },
  { method: 'GET', path: '/api/dead-letters', need: 'read' },
  { method: 'POST', path: '/api/dead-letters/replay', need: 'control', action: 'dead_letters.replay' },
  { method: 'POST', path: '/api/dead-letters/purge', need: 'admin', action: 'dead_letters.purge' },
  { method: 'GET', path: '/api/health', need: 'read' },
  { method: 'GET', path: '/metrics', need: 'read' },
  { method: 'POST', path: '/api/campaigns/:id/pause', need: 'control', action: 'campaign.pause' },
  { method: 'POST', path: '/api/campaigns/:id/resume', need: 'control', action: 'campaign.resume' },
  { method: 'POST', path: '/api/campaigns/:id/cancel', need: 'control', action: 'campaign.cancel' },
  { method: 'GET', path: '/api/followups', need: 'read' },
  { method: 'GET', path: '/api/followups/:id', need: 'read' },
  // It composes new messages to a whole campaign's audience: more than `send` (which enqueues what it is
  // given) and `control` (which stops or resumes what exists) each allow.
  { method: 'POST', path: '/api/followups', need: 'admin', action: 'followup.create' },
  { method: 'POST', path: '/api/followups/:id/cancel', need: 'control', action: 'followup.cancel' },
  { method: 'POST', path: '/api/suppressions', need: 'control', action: 'suppressions.add' },
  { method: 'DELETE', path: '/api/suppressions', need: 'control', action: 'suppressions.remove' },
  { method: 'GET', path: '/api/keys', need: 'admin' },
  { method: 'POST', path: '/api/keys', need: 'admin', action: 'key.create' },
  { method: 'POST', path: '/api/keys/:name/roll', need: 'admin', action: 'key.roll' },
  { method: 'DELETE', path: '/api/keys/:name', need: 'admin', action: 'key.revoke' },
  { method: 'GET', path: '/api/webhooks', need: 'admin' },
  { method: 'POST', path: '/api/webhooks', need: 'admin', action: 'webhook.add' },
  { method: 'GET', path: '/api/webhooks/:id', need: 'admin' },
  { method: 'DELETE', path: '/api/webhooks/:id', need: 'admin', action: 'webhook.remove' },
  { method: 'POST', path: '/api/webhooks/:id/rotate-secret', need: 'admin', action: 'webhook.rotate-secret' },
  { method: 'POST', path: '/api/webhooks/:id/enable', need: 'admin', action: 'webhook.enable' },
  { method: 'POST', path: '/api/webhooks/:id/test', need: 'admin', action: 'webhook.test' },
  { method: 'GET', path: '/api/webhooks/:id/deliveries', need: 'admin' },
  { method: 'POST', path: '/api/webhooks/:id/replay', need: 'admin', action: 'webhook.replay' },
  { method: 'GET', path: '/api/audit', need: 'admin' },
  { method: 'GET', path: '/api/audit/campaigns', need: 'admin' },
  { method: 'GET', path: '/', need: 'admin' },
  { method: 'GET', path: '/campaigns', need: 'admin' },
  { method: 'ANY', path: '/queues/*', need: 'admin', action: 'board.change' },
];

interface Compiled extends RouteRole {
  pattern: RegExp;
  params: string[];
}

const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

function compile(row: RouteRole): Compiled {
  const params: string[] = [];
  const prefix = row.path.endsWith('/*');
  const path = prefix ? row.path.slice(0, -2) : row.path;
  const body = path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return escape(segment);
      params.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { ...row, params, pattern: new RegExp(`^${body}${prefix ? '(?:/.*)?' : '/?'}$`, 'i') };
}

const COMPILED = ROUTE_ROLES.map(compile);

export interface RouteMatch {
  row: RouteRole;
  /** The path's `:name` segments, decoded. */
  params: Record<string, string>;
}

/** The row a request falls under (HEAD as GET, as Express routes it), or undefined: `admin` then. */
export function routeOf(method: string, path: string): RouteMatch | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  for (const row of COMPILED) {
    if (row.method !== 'ANY' && row.method !== m) continue;
    const match = row.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    row.params.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(match[i + 1] as string);
      } catch {
        params[name] = match[i + 1] as string;
      }
    });
    return { row, params };
  }
  return undefined;
}
