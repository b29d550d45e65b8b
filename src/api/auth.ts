// Bearer-token auth, decided on the route that handles the request, never on the URL string. Fastify routes first
// (decoding percent-escapes, taking the path out of an absolute-form target) and runs onRequest hooks after, so
// `req.routeOptions` is the route that would run: whatever spelling reached it, its access rule applies. Every route
// needs a token unless it says `config: { access: 'public' }`. An unmatched request gets the 404 without a token: it
// carries no data, and the routes are public knowledge (/docs).
// The tokens themselves are in tokens.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { errorPayload } from './errors.js';

/**
 * Who may call a route: 'public' (no token), 'viewer' (any valid token), 'admin' (an admin token).
 * Default: viewer for GET and HEAD, admin for every other method.
 */
export type Access = 'public' | 'viewer' | 'admin';
export const ACCESS_LEVELS: readonly Access[] = ['public', 'viewer', 'admin'];
/** A token's role: admin (everything, the whole cloud), member (reads and writes of its project), viewer (reads). */
export type Role = 'admin' | 'member' | 'viewer';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Whose token the request carried (set by `authorize`; null on public routes or with auth off). */
    principal: Principal | null;
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

/** onRequest hook (runs after routing): 401 without a valid token, 403 when the token's role is not enough. */
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
}

/** Registers `plugin` in a scope whose routes are all public. */
export async function registerPublic(app: FastifyInstance, plugin: (scope: FastifyInstance) => Promise<void>): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', markPublic);
    await plugin(scope);
  });
}
