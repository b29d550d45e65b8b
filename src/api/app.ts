// The HTTP API as a Fastify instance built from its dependencies. It does not listen: the entry point owns the
// process (listen address, logger, shutdown), tests use `app.inject`.
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { CloudService } from '../cloud/index.js';
import { accessOf, authorize, checkAccessDeclared, registerPublic, selectProject, type Access, type Principal, type Verifier } from './auth.js';
import { errorPayload, handleError } from './errors.js';
import { DEFAULT_API_LIMITS, serverOptions, type ApiLimits } from './limits.js';
import type { ApiTokens } from './tokens.js';
import { datapathRoutes } from './routes/datapaths.js';
import { floatingIpRoutes } from './routes/floating-ips.js';
import { nodeRoutes } from './routes/nodes.js';
import { projectRoutes } from './routes/projects.js';
import { securityGroupRoutes } from './routes/security-groups.js';
import { subnetRoutes } from './routes/subnets.js';
import { tokenRoutes, whoamiRoute } from './routes/tokens.js';
import { uiRoutes } from './routes/ui.js';
import { vmRoutes } from './routes/vms.js';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
  /** The reason in a few fixed words, for callers without a token (the reason itself may quote an error). */
  readonly reasonClass?: string;
  /** Which controller this is and who leads (several controllers on etcd; src/daemon/leadership.ts). */
  readonly leadership?: { readonly role: 'leader' | 'follower'; readonly id: string; readonly leader?: string; readonly generation: string };
}

/** What the API needs of the metrics (src/daemon/metrics.ts): it records its requests and serves the scrape. */
export interface ApiMetrics {
  observeApiRequest(method: string, route: string, status: number, seconds: number): void;
  readonly contentType: string;
  render(): Promise<string>;
}

export interface AppDeps {
  readonly service: CloudService;
  readonly metrics: ApiMetrics;
  /** Checks bearer tokens: every route but the public ones needs one. `false` turns auth off (loopback only). */
  readonly auth: { readonly verify: Verifier } | false;
  /** /metrics needs a token (any role). Default false. */
  readonly metricsAuth?: boolean;
  /** The API tokens, managed at /api/v1/tokens (admins only). */
  readonly tokens?: ApiTokens;
  /** A pino logger; every line of a request carries its `reqId`. Default: silent. */
  readonly logger?: FastifyBaseLogger;
  /** What /readyz reports; default: ready while the store answers. */
  readonly ready?: () => Readiness | Promise<Readiness>;
  /** Sizes and timeouts of what clients send (defaults: DEFAULT_API_LIMITS). */
  readonly limits?: Partial<ApiLimits>;
  /** Told of every route as it is registered (tests walk every route with it). */
  readonly onRoute?: (route: { readonly method: string; readonly url: string }) => void;
}

export type App = FastifyInstance;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(deps: AppDeps): Promise<App> {
  const { service, metrics } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...serverOptions({ ...DEFAULT_API_LIMITS, ...deps.limits }),
    // A caller's X-Request-Id is kept when it is sane, so its logs and ours line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRoute', (route) => {
    checkAccessDeclared(route);
    for (const method of [route.method].flat()) deps.onRoute?.({ method, url: route.url });
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('project', undefined);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorPayload(req, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`)));
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onRequest', selectProject);
  if (deps.auth) app.addHook('onRequest', authorize(deps.auth.verify));
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeApiRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'miniCloud API',
        version: '1',
        description:
          'Nodes, subnets and VMs of a miniCloud; flows and datapaths of its switches.\n\n' +
          'Every operation but the public ones needs `Authorization: Bearer <token>`. A token is an admin token (everything) or a ' +
          'viewer token (GET and HEAD only: a write answers 403); tokens are managed at /api/v1/tokens by admins.\n\n' +
          'Projects: subnets, VMs and security groups belong to a project. A request names its project with the `X-Project` header ' +
          '(none: an admin sees every project, and what it creates goes to `default`). A member or viewer token may be scoped to one ' +
          'project: it sees and touches only that project (403 otherwise), and every whole-cloud operation (nodes, datapaths, tokens, ' +
          'making projects) answers it 403. A member token may also write its project\'s subnets, VMs and security groups.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: deps.auth ? [{ bearer: [] }] : [],
    },
    // Each operation says which token it needs.
    transform: ({ schema, url, route }) => {
      const s = (schema ?? {}) as Record<string, unknown>;
      if (!deps.auth || s['hide'] === true) return { schema, url };
      const access = accessOf(String([route.method].flat()[0]), route.config);
      if (access === 'public') return { schema: { ...s, security: [] }, url };
      const needs = access === 'admin' ? 'Needs an admin token.' : 'Needs a token (viewer or admin).';
      return { schema: { ...s, description: typeof s['description'] === 'string' ? `${s['description']}\n\n${needs}` : needs }, url };
    },
  });
  await registerPublic(app, async (scope) => {
    await scope.register(swaggerUi, { routePrefix: '/docs' });
    await scope.register(uiRoutes());
  });

  await app.register(
    async (api) => {
      await api.register(nodeRoutes(service));
      await api.register(subnetRoutes(service));
      await api.register(vmRoutes(service));
      await api.register(securityGroupRoutes(service));
      await api.register(floatingIpRoutes(service));
      await api.register(projectRoutes(service, deps.tokens));
      await api.register(datapathRoutes(service));
      if (deps.tokens) {
        const projects = (): string[] => service.listProjects().map((p) => p.name);
        await api.register(tokenRoutes(deps.tokens, (name) => projects().includes(name)));
      }
      await api.register(whoamiRoute(deps.auth !== false));
    },
    { prefix: '/api/v1' },
  );

  const ops = { tags: ['operations'], security: [] };
  const open = { access: 'public' } as const;
  app.get('/healthz', { config: open, schema: { ...ops, summary: 'The process is alive', response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      config: open,
      schema: {
        ...ops,
        summary: 'The controller can serve requests',
        response: {
          200: Type.Object({ status: Type.String(), pid: Type.Integer(), ...readyLeadership }),
          503: Type.Object({ status: Type.String(), reason: Type.String(), pid: Type.Integer(), ...readyLeadership }),
        },
      },
    },
    async (req, reply) => {
      const r = await (deps.ready ?? (() => storeAnswers(service)))();
      // Anyone may ask (load balancers, `curl` in the demo): status, pid and role only. Which controllers there are
      // (ids, often host names), the generation and the failure's own words are for a cloud-wide token (docs/api.md).
      const detailed = deps.auth === false || isCloudWide(verifyQuietly(deps.auth.verify, req.headers.authorization));
      const { role, ...details } = r.leadership ?? {};
      const who = { pid: process.pid, ...(role !== undefined && { role }), ...(detailed && details) };
      const reason = detailed ? (r.reason ?? 'not ready') : (r.reasonClass ?? 'not ready');
      return r.ready ? { status: 'ready', ...who } : reply.status(503).send({ status: 'not ready', reason, ...who });
    },
  );
  const metricsAccess: { access: Access } = { access: deps.metricsAuth ? 'viewer' : 'public' };
  app.get('/metrics', { config: metricsAccess, schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });

  return app;
}

/** The caller, if its token is valid; a store that cannot check it (readyz failing) makes it nobody. */
function verifyQuietly(verify: Verifier, authorization: string | undefined): Principal | undefined {
  try {
    return verify(authorization);
  } catch {
    return undefined;
  }
}

/** A token for the whole cloud (not one project's): it may see which controllers there are. */
function isCloudWide(who: Principal | undefined): boolean {
  return who !== undefined && who.project === undefined;
}

const readyLeadership = {
  role: Type.Optional(Type.Union([Type.Literal('leader'), Type.Literal('follower')])),
  id: Type.Optional(Type.String()),
  leader: Type.Optional(Type.String()),
  generation: Type.Optional(Type.String()),
};

/** Ready while the store answers (the API's default readiness; the daemon adds who leads). */
export function storeAnswers(service: CloudService): Readiness {
  try {
    service.revision();
    return { ready: true };
  } catch (e) {
    return { ready: false, reason: `store: ${e instanceof Error ? e.message : String(e)}`, reasonClass: 'store unavailable' };
  }
}
