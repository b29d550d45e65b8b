import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService, ProjectView } from '../../cloud/index.js';
import { CreateProjectBody, Project, ProjectParams, UpdateProjectBody } from '../project-schemas.js';
import { errorPayload } from '../errors.js';
import { ErrorBody } from '../schemas.js';
import type { ApiTokens } from '../tokens.js';
import { ctxOf, PROJECT_READ } from '../scope.js';

const tags = ['projects'];
// Reading a project is a project-scoped read (a scoped token sees its own); making, changing and deleting projects
// is the whole cloud's business: admins only.
const admin = { access: 'admin', scope: 'cloud' } as const;

const shown = (p: ProjectView) => ({ ...p, quotas: { ...p.quotas } });

/** `tokens`: a project with tokens scoped to it is not deleted (a new project of its name would inherit them). */
export function projectRoutes(service: CloudService, tokens?: ApiTokens): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/projects',
      { config: PROJECT_READ, schema: { tags, summary: 'List projects (a scoped token: its own), with quotas and usage', response: { 200: Type.Object({ projects: Type.Array(Project) }) } } },
      async (req) => ({ projects: service.listProjects(ctxOf(req)).map(shown) }),
    );

    app.get(
      '/projects/:name',
      { config: PROJECT_READ, schema: { tags, summary: 'Show a project, its quotas and usage', params: ProjectParams, response: { 200: Type.Object({ project: Project }), 403: ErrorBody, 404: ErrorBody } } },
      async (req) => ({ project: shown(service.getProject(req.params.name, ctxOf(req))) }),
    );

    app.post(
      '/projects',
      {
        config: admin,
        schema: { tags, summary: 'Create a project (with its default security group)', body: CreateProjectBody, response: { 201: Type.Object({ project: Project }), 400: ErrorBody, 409: ErrorBody } },
      },
      async (req, reply) => {
        const { value } = await service.createProject(req.body, ctxOf(req));
        return reply.status(201).send({ project: shown(value) });
      },
    );

    app.patch(
      '/projects/:name',
      {
        config: admin,
        schema: { tags, summary: 'Change a project: description, quotas', params: ProjectParams, body: UpdateProjectBody, response: { 200: Type.Object({ project: Project }), 400: ErrorBody, 404: ErrorBody } },
      },
      async (req) => ({ project: shown((await service.updateProject(req.params.name, req.body, ctxOf(req))).value) }),
    );

    app.delete(
      '/projects/:name',
      {
        config: admin,
        schema: { tags, summary: 'Delete an empty project (its default security group with it)', params: ProjectParams, response: { 200: Type.Object({ deleted: Type.String() }), 404: ErrorBody, 409: ErrorBody } },
      },
      async (req, reply) => {
        const scoped = tokens?.scopedTo(req.params.name) ?? [];
        if (scoped.length) {
          return reply.status(409).send(errorPayload(req, 'conflict', `tokens are scoped to project '${req.params.name}' (${scoped.slice(0, 5).join(', ')}): revoke them first`));
        }
        return { deleted: (await service.deleteProject(req.params.name, ctxOf(req))).value.name };
      },
    );
  };
}
