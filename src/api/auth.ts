// Bearer-token auth, decided on the route that handles the request, never on the URL string. Fastify routes first
// (decoding percent-escapes, taking the path out of an absolute-form target) and runs onRequest hooks after, so
// `req.routeOptions` is the route that would run: whatever spelling reached it, its access rule applies. Every route
// needs a token unless it says `config: { access: 'public' }`. An unmatched request gets the 404 without a token: it
// carries no data, and the routes are public knowledge (/docs).
// The tokens themselves are in tokens.ts.
//
// Projects: a route says what it reaches with `config.scope`. 'project' routes (subnets, VMs, security groups, the
// project itself) act on one project's records; 'cloud' routes (the default: nodes, datapaths, tokens, creating
// projects) on the whole cloud; 'any' routes only on the caller (whoami). A request names its project with the
// PROJECT_HEADER; a token scoped to a project is confined to it (naming another is a 403), may not use 'cloud'
// routes at all (403), and as a `member` may write on 'project' routes. `req.project` is then the project the
// request is confined to (undefined: the whole cloud), which the routes hand to the service.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { matchesRule, PROJECT_NAME } from '../topology/names.js';
import { errorPayload } from './errors.js';

/**
 * Who may call a route: 'public' (no token), 'viewer' (any valid token), 'admin' (an admin token).
 * Default: viewer for GET and HEAD, admin for every other method.
 */
export type Access = 'public' | 'viewer' | 'admin';
export const ACCESS_LEVELS: readonly Access[] = ['public', 'viewer', 'admin'];

/** What a route reaches (see above). Default: 'cloud'. */
export type Scope = 'project' | 'cloud' | 'any';
export const SCOPES: readonly Scope[] = ['project', 'cloud', 'any'];

/** The request header naming the project a request is for (lower-case, as Node gives headers). */
export const PROJECT_HEADER = 'x-project';
/** A token's role: admin (everything, the whole cloud), member (reads and writes of its project), viewer (reads). */
export type Role = 'admin' | 'member' | 'viewer';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    scope?: Scope;
  }
  interface FastifyRequest {
    /** Whose token the request carried (set by `authorize`; null on public routes or with auth off). */
    principal: Principal | null;
    /** The project the request is confined to (set by `authorize` / `selectProject`); undefined: the whole cloud. */
    project: string | undefined;
  }
}

/** A caller whose token was accepted. */
export interface Principal {
  /** The token's name. */
  readonly name: string;
  readonly role: Role;
  /** The one project the token sees and touches; absent = the whole cloud. */
  readonly project?: string;
}

/** Checks an Authorization header: the principal, or undefined when there is no valid token. */
export type Verifier = (authorization: string | undefined) => Principal | undefined;

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The access a route declares, or the default of its method. */
export function accessOf(method: string, config: { access?: Access } | undefined): Access {
  return config?.access ?? (SAFE_METHODS.has(method) ? 'viewer' : 'admin');
}

/** The access a route (or the not-found handler) requires. */
export function requiredAccess(req: FastifyRequest): Access {
  if (req.is404) return 'public';
  return accessOf(req.method, req.routeOptions.config);
}

export function scopeOf(config: { scope?: Scope } | undefined): Scope {
  return config?.scope ?? 'cloud';
}

/** The project the request names in PROJECT_HEADER: undefined when none, null when it is not a project name. */
function namedProject(req: FastifyRequest): string | undefined | null {
  const given = req.headers[PROJECT_HEADER];
  if (given === undefined) return undefined;
  return matchesRule(PROJECT_NAME, given) ? given : null;
}

/**
 * onRequest hook (runs after routing, before `authorize`): sets `req.project` from PROJECT_HEADER; 400 when it is not
 * a project name. With auth off this is all there is.
 */
export async function selectProject(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (req.is404) return undefined;
  const named = namedProject(req);
  if (named === null) return reply.status(400).send(errorPayload(req, 'invalid', `header ${PROJECT_HEADER}: ${PROJECT_NAME.text}`, PROJECT_HEADER));
  req.project = named;
  return undefined;
}

/** onRequest hook (runs after routing): 401 without a valid token, 403 when the token's role or project is not enough. */
export function authorize(verify: Verifier) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const access = requiredAccess(req);
    if (access === 'public') return undefined;
    const who = verify(req.headers.authorization);
    if (!who) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="minicloud"')
        .send(errorPayload(req, 'unauthorized', req.headers.authorization ? 'the bearer token is not valid' : 'this API needs "Authorization: Bearer <token>"'));
    }
    req.principal = who;
    if (who.project !== undefined) {
      const scope = scopeOf(req.routeOptions.config);
      const forbid = (why: string): FastifyReply => reply.status(403).send(errorPayload(req, 'forbidden', `token '${who.name}' is scoped to project '${who.project}': ${why}`));
      if (scope === 'cloud') return forbid(`${req.method} ${req.routeOptions.url ?? ''} acts on the whole cloud (an admin token's)`);
      if (req.project !== undefined && req.project !== who.project) return forbid(`it cannot act on project '${req.project}'`);
      if (scope === 'project') req.project = who.project;
      if (access === 'admin' && !(who.role === 'member' && scope === 'project')) return forbid(`a ${who.role} token cannot ${req.method} here`);
      return undefined;
    }
    if (access === 'admin' && who.role !== 'admin') {
      return reply.status(403).send(errorPayload(req, 'forbidden', `token '${who.name}' is a ${who.role} token: ${req.method} needs an admin token`));
    }
    return undefined;
  };
}

/** onRoute hook for a plugin scope whose every route is public (the UI's assets, /docs). */
export function markPublic(route: RouteOptions): void {
  route.config = { ...route.config, access: 'public' };
}

/** onRoute hook: a route declaring an access level that does not exist is a programming error, found at start. */
export function checkAccessDeclared(route: RouteOptions): void {
  const access = (route.config as { access?: unknown } | undefined)?.access;
  if (access !== undefined && !(ACCESS_LEVELS as readonly unknown[]).includes(access)) throw new Error(`route ${String(route.method)} ${route.url}: unknown access '${String(access)}'`);
  const scope = (route.config as { scope?: unknown } | undefined)?.scope;
  if (scope !== undefined && !(SCOPES as readonly unknown[]).includes(scope)) throw new Error(`route ${String(route.method)} ${route.url}: unknown scope '${String(scope)}'`);
}

/** Registers `plugin` in a scope whose routes are all public. */
export async function registerPublic(app: FastifyInstance, plugin: (scope: FastifyInstance) => Promise<void>): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', markPublic);
    await plugin(scope);
  });
}
