import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorPayload } from '../errors.js';
import { ErrorBody } from '../schemas.js';
import { CreateTokenBody, CreatedToken, TokenInfo, TokenNameParams, TokenRole } from '../token-schemas.js';
import type { ApiTokens } from '../tokens.js';

const tags = ['tokens'];
/** Every token route, reads included, is for admins: a token list tells who has access. */
const config = { access: 'admin' } as const;

/** `projectExists`: whether a token may be scoped to that project. */
export function tokenRoutes(tokens: ApiTokens, projectExists: (name: string) => boolean = () => false): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/tokens',
      { config, schema: { tags, summary: 'List API tokens (never their secrets)', response: { 200: Type.Object({ tokens: Type.Array(TokenInfo) }), 403: ErrorBody } } },
      async () => ({ tokens: tokens.list() }),
    );

    app.post(
      '/tokens',
      {
        config,
        schema: {
          tags,
          summary: 'Create an API token; its secret is in this answer only',
          body: CreateTokenBody,
          response: { 201: CreatedToken, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { project } = req.body;
        if (project !== undefined && !projectExists(project)) {
          return reply.status(400).send(errorPayload(req, 'invalid', `project: no project named '${project}'`, 'project'));
        }
        const created = await tokens.create(req.body.name, req.body.role ?? 'viewer', project);
        req.log.info({ token: created.info.name, role: created.info.role, project }, 'API token created');
        return reply.status(201).header('cache-control', 'no-store').send(created);
      },
    );

    app.delete(
      '/tokens/:name',
      {
        config,
        schema: {
          tags,
          summary: 'Revoke an API token (effective at once; the last admin token cannot be revoked)',
          params: TokenNameParams,
          response: { 200: Type.Object({ revoked: Type.String() }), 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const revoked = await tokens.revoke(req.params.name);
        req.log.info({ token: revoked.name }, 'API token revoked');
        return { revoked: revoked.name };
      },
    );
  };
}

/** GET /whoami: the caller's token name and role (the UI hides what a viewer cannot do). */
export function whoamiRoute(auth: boolean): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/whoami',
      {
        config: { access: 'viewer', scope: 'any' },
        schema: {
          tags,
          summary: "The caller's token: its name, role and project (with auth off: no name, role admin)",
          response: {
            200: Type.Object({ name: Type.Union([Type.String(), Type.Null()]), role: TokenRole, project: Type.Optional(Type.String()), auth: Type.Boolean() }),
          },
        },
      },
      async (req) =>
        auth && req.principal
          ? { name: req.principal.name, role: req.principal.role, ...(req.principal.project !== undefined && { project: req.principal.project }), auth }
          : { name: null, role: 'admin' as const, auth: false },
    );
  };
}
