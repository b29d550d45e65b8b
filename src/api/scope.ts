// What a project-scoped route hands the service: the request's logger and the project it is confined to (auth.ts).
import type { FastifyRequest } from 'fastify';
import type { OpContext } from '../cloud/index.js';

/** `config` of a route that acts on one project's records, reads (viewer) or writes (member or admin). */
export const PROJECT_READ = { access: 'viewer', scope: 'project' } as const;
export const PROJECT_WRITE = { access: 'admin', scope: 'project' } as const;

export function ctxOf(req: FastifyRequest): OpContext {
  return { log: req.log, ...(req.project !== undefined && { project: req.project }) };
}
