// /api/v1/floating-ips: allocate from a gateway's pool, attach to a VM (PUT .../vm), detach (DELETE .../vm), release.
// Project-scoped like VMs: a scoped token sees and touches only its project's floating IPs and VMs.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { AttachBody, CreateFloatingIpBody, FloatingIp, FloatingIpMutation, FloatingIpParams } from '../floating-ip-schemas.js';
import { ErrorBody, NetworkResult } from '../schemas.js';
import { ctxOf, PROJECT_READ, PROJECT_WRITE } from '../scope.js';

const tags = ['floating-ips'];

export function floatingIpRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/floating-ips',
      { config: PROJECT_READ, schema: { tags, summary: 'List floating IPs (a scoped token: its project\'s)', response: { 200: Type.Object({ floatingIps: Type.Array(FloatingIp) }) } } },
      async (req) => ({ floatingIps: service.listFloatingIps(ctxOf(req)) }),
    );

    app.get(
      '/floating-ips/:address',
      { config: PROJECT_READ, schema: { tags, summary: 'Show a floating IP', params: FloatingIpParams, response: { 200: Type.Object({ floatingIp: FloatingIp }), 403: ErrorBody, 404: ErrorBody } } },
      async (req) => ({ floatingIp: service.getFloatingIp(req.params.address, ctxOf(req)) }),
    );

    app.post(
      '/floating-ips',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: "Allocate a floating IP to the request's project, from a gateway's pool (counts against the floatingIps quota)",
          body: CreateFloatingIpBody,
          response: { 201: FloatingIpMutation, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await service.createFloatingIp(req.body ?? {}, ctxOf(req));
        return reply.status(201).send({ floatingIp: value, network });
      },
    );

    app.delete(
      '/floating-ips/:address',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: 'Release a floating IP to its pool (409 while attached: detach it first)',
          params: FloatingIpParams,
          response: { 200: Type.Object({ deleted: Type.String(), network: NetworkResult }), 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await service.deleteFloatingIp(req.params.address, ctxOf(req));
        return { deleted: value.address, network };
      },
    );

    app.put(
      '/floating-ips/:address/vm',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: "Attach a floating IP to a VM of its project: inbound traffic to it reaches the VM, the VM's egress leaves with it (the VM's egress is bound to the floating IP's gateway)",
          params: FloatingIpParams,
          body: AttachBody,
          response: { 200: FloatingIpMutation, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await service.attachFloatingIp(req.params.address, req.body.vm, ctxOf(req));
        return { floatingIp: value, network };
      },
    );

    app.delete(
      '/floating-ips/:address/vm',
      {
        config: PROJECT_WRITE,
        schema: { tags, summary: 'Detach a floating IP from its VM (it stays allocated to the project)', params: FloatingIpParams, response: { 200: FloatingIpMutation, 403: ErrorBody, 404: ErrorBody } },
      },
      async (req) => {
        const { value, network } = await service.detachFloatingIp(req.params.address, ctxOf(req));
        return { floatingIp: value, network };
      },
    );
  };
}
