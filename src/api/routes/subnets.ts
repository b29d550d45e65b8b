import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { ctxOf, PROJECT_READ, PROJECT_WRITE } from '../scope.js';
import { CreateSubnetBody, Deleted, ErrorBody, NameParams, NetworkResult, Subnet } from '../schemas.js';

const tags = ['subnets'];

export function subnetRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/subnets', { config: PROJECT_READ, schema: { tags, summary: 'List subnets', response: { 200: Type.Object({ subnets: Type.Array(Subnet) }) } } }, async (req) => ({
      subnets: service.listSubnets(ctxOf(req)),
    }));

    app.get(
      '/subnets/:name',
      { config: PROJECT_READ, schema: { tags, summary: 'Show a subnet', params: NameParams, response: { 200: Type.Object({ subnet: Subnet }), 404: ErrorBody } } },
      async (req) => ({ subnet: service.getSubnet(req.params.name, ctxOf(req)) }),
    );

    app.post(
      '/subnets',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: 'Create a subnet: the next free block of prefixLength (default /27) or exactly cidr',
          body: CreateSubnetBody,
          response: { 201: Type.Object({ subnet: Subnet, network: NetworkResult }), 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await service.createSubnet(req.body, ctxOf(req));
        return reply.status(201).send({ subnet: value, network });
      },
    );

    app.delete(
      '/subnets/:name',
      { config: PROJECT_WRITE, schema: { tags, summary: 'Delete a subnet (it must have no VMs)', params: NameParams, response: { 200: Deleted, 404: ErrorBody, 409: ErrorBody } } },
      async (req) => {
        const { value, network } = await service.deleteSubnet(req.params.name, ctxOf(req));
        return { deleted: value.name, network };
      },
    );
  };
}
