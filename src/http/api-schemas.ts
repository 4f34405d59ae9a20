/**
 * The HTTP API's shapes that no other module states as a zod schema: what the routes answer (their requests
 * are in request-schemas.ts). The published contract (openapi.ts) is generated from these, from the requests'
 * schemas, from the ledger's records (src/ledger/schemas.ts) and from the schemas that validate messages and
 * callbacks. Each area's module (api-schemas/) ends with checks that fail to compile when an answer's
 * TypeScript shape and its schema part; the integration tests check every answer they receive against the
 * document (test/helpers/contract.ts).
 */

// One module an area; the openapi-paths/ modules import them all from here.
export * from './api-schemas/common.js';
export * from './api-schemas/campaigns.js';
export * from './api-schemas/messages.js';
export * from './api-schemas/service.js';
export * from './api-schemas/followups.js';
