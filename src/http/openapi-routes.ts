import type express from 'express';
import { apiDocsPage } from './api-docs-page.js';
import { openApiDocument } from './openapi.js';

/**
 * The contract over HTTP: GET /api/openapi.json (the OpenAPI 3.1 document) and GET /api/docs (the same as a
 * page). Every key may read them ("any" in route-roles.ts): a client's developer generates a client with the
 * key the client will use. They are not public: the same document ships in the package (docs/openapi.json),
 * and answering strangers would tell them the version running.
 */
export function openApiRoutes(app: express.Express): void {
  let page: string | undefined;
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.get('/api/docs', (_req, res) => {
    page ??= apiDocsPage(openApiDocument());
    res.set('Content-Type', 'text/html; charset=utf-8').send(page);
  });
}
