// Bearer-token auth for /api/v1. The token is made on first start and kept in the store, so a restarted controller
// accepts the token its operators already have; the entry point prints it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CloudStore } from '../topology/store.js';
import { errorPayload } from './errors.js';

const TOKEN_KEY = 'api_token';

/** The stored API token, generated (and stored) when there is none yet. */
export function ensureApiToken(store: CloudStore): { token: string; created: boolean } {
  return store.write((w) => {
    const existing = w.getMeta(TOKEN_KEY);
    if (existing !== undefined) return { token: existing, created: false };
    const token = `mc_${randomBytes(24).toString('base64url')}`;
    w.setMeta(TOKEN_KEY, token);
    return { token, created: true };
  });
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** onRequest hook: everything under /api/ needs the token. */
export function requireToken(token: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!req.url.startsWith('/api/')) return undefined;
    if (tokenMatches(req.headers.authorization, token)) return undefined;
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer realm="minicloud"')
      .send(errorPayload(req, 'unauthorized', req.headers.authorization ? 'the bearer token is not valid' : 'this API needs "Authorization: Bearer <token>"'));
  };
}
