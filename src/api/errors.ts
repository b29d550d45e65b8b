// One place that turns failures into HTTP: domain errors keep their message and field, request errors (validation,
// bad JSON, oversized body) say what was wrong, anything else is a 500 whose details stay in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind } from '../cloud/index.js';
import { ruleTextOf } from '../topology/names.js';
import { StoreUnavailableError } from '../topology/store.js';

export const STATUS_OF: Readonly<Record<DomainErrorKind, number>> = {
  not_found: 404,
  invalid: 400,
  conflict: 409,
  capacity_exhausted: 409,
  quota_exceeded: 409,
  forbidden: 403,
  unsupported: 501,
  backend_failed: 502,
};

export interface ErrorPayload {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string; readonly requestId: string };
}

export function errorPayload(req: FastifyRequest, code: string, message: string, field?: string): ErrorPayload {
  return { error: { code, message, ...(field !== undefined && { field }), requestId: req.id } };
}

interface ValidationItem {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/**
 * 'body/prefixLength must be <= 32' -> field 'prefixLength', message 'prefixLength: must be <= 32'. A name field
 * (one whose schema carries a rule of src/topology/names.ts) says the whole rule, whichever part of it failed.
 */
function describeValidation(items: readonly ValidationItem[], context: string | undefined, req: FastifyRequest): { field: string; message: string } {
  const first = items[0] ?? {};
  const segments = (first.instancePath ?? '').split('/').filter(Boolean);
  const path = segments.join('.');
  const missing = first.params?.missingProperty;
  const extra = first.params?.additionalProperty;
  if (typeof missing === 'string') return { field: joinField(path, missing), message: `${joinField(path, missing)}: is required` };
  if (typeof extra === 'string') return { field: joinField(path, extra), message: `${joinField(path, extra)}: is not a known field` };
  const field = path || context || 'body';
  const rule = ruleTextOf(schemaAt(req, context, segments)?.pattern);
  if (rule !== undefined) return { field, message: `${field}: must be ${rule}${shown(valueAt(req, context, segments))}` };
  const allowed = first.params?.allowedValues;
  const reason = Array.isArray(allowed) ? `must be one of ${allowed.join(', ')}` : (first.message ?? 'is invalid');
  return { field, message: `${field}: ${reason}` };
}

type Json = Record<string, unknown> | undefined;

/** The route's schema of the property at `segments` (body, params or querystring). */
function schemaAt(req: FastifyRequest, context: string | undefined, segments: readonly string[]): Json {
  let at = (req.routeOptions?.schema as Json)?.[context ?? 'body'] as Json;
  for (const s of segments) at = (at?.['properties'] as Json)?.[s] as Json;
  return at;
}

function valueAt(req: FastifyRequest, context: string | undefined, segments: readonly string[]): unknown {
  const sources: Record<string, unknown> = { body: req.body, params: req.params, querystring: req.query };
  let at = sources[context ?? 'body'];
  for (const s of segments) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[s] : undefined;
  return at;
}

function shown(value: unknown): string {
  if (typeof value !== 'string') return '';
  return ` (got ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)})`;
}

function joinField(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function handleError(error: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) {
    const status = STATUS_OF[error.kind];
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    return reply.status(status).send(errorPayload(req, error.kind, error.message, error.field));
  }
  if (error instanceof StoreUnavailableError) {
    // Nothing was written: the client may retry once the store is back (etcd has its quorum again).
    req.log.warn({ err: error }, 'store unavailable: write refused');
    return reply.status(503).header('retry-after', '5').send(errorPayload(req, 'store_unavailable', `the store cannot take writes now: ${error.message}`));
  }
  const fe = error as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
  if (fe.validation) {
    const { field, message } = describeValidation(fe.validation, fe.validationContext, req);
    return reply.status(400).send(errorPayload(req, 'invalid', message, field));
  }
  const status = fe.statusCode ?? 500;
  if (status === 413) return reply.status(413).send(errorPayload(req, 'body_too_large', 'request body is larger than this API accepts'));
  if (status >= 400 && status < 500) {
    const code = fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'bad_request';
    const message = error instanceof SyntaxError || /JSON/i.test(error.message) ? `body: not valid JSON (${error.message})` : error.message;
    return reply.status(status).send(errorPayload(req, code, message));
  }
  req.log.error({ err: error }, 'internal error');
  return reply.status(500).send(errorPayload(req, 'internal', `internal error; the log has the details under request id ${req.id}`));
}
