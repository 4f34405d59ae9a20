/**
 * The roles an API key holds, and what each may do. A route names what it needs (a `Need`, see
 * src/http/route-roles.ts); a role grants a set of needs. The roles are not a ladder: `send` may enqueue,
 * which `read` and `control` may not, and `read` may list everything, which `send` may not.
 */

export const ROLES = ['send', 'read', 'control', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * - `send`: enqueue messages;
 * - `read-one`: read one message or one campaign by its identifier (what a sending system asks about what it
 *   sent), and the API's contract (/api/openapi.json, /api/docs);
 * - `read`: every other read (lists, the opt-out list, health, metrics);
 * - `control`: pause, resume, cancel, edit the opt-out list, replay dead letters;
 * - `admin`: keys, the audit log, the pages and Bull Board, and any route without a declared need.
 */
export type Need = 'send' | 'read-one' | 'read' | 'control' | 'admin';

const GRANTS: Record<Role, readonly Need[]> = {
  send: ['send', 'read-one'],
  read: ['read-one', 'read'],
  control: ['read-one', 'read', 'control'],
  admin: ['send', 'read-one', 'read', 'control', 'admin'],
};

export function allows(role: Role, need: Need): boolean {
  return GRANTS[role].includes(need);
}

/** The roles that may do what `need` names, in ROLES order. */
export function rolesFor(need: Need): Role[] {
  return ROLES.filter((role) => allows(role, need));
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
