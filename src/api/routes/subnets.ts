import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { CreateSubnetBody, Deleted, ErrorBody, NameParams, NetworkResult, Subnet } from '../schemas.js';

const tags = ['subnets'];

export function subnetRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/subnets', { schema: { tags, summary: 'List subnets', response: { 200: Type.Object({ subnets: Type.Array(Subnet) }) } } }, async () => ({
      subnets: service.listSubnets(),
    }));

    app.get(
      '/subnets/:name',
      { schema: { tags, summary: 'Show a subnet', params: NameParams, response: { 200: Type.Object({ subnet: Subnet }), 404: ErrorBody } } },
      async (req) => ({ subnet: service.getSubnet(req.params.name) }),
    );

    app.post(
      '/subnets',
      {
        schema: {
          tags,
          summary: 'Create a subnet: the next free block of prefixLength (default /27) or exactly cidr',
          body: CreateSubnetBody,
          response: { 201: Type.Object({ subnet: Subnet, network: NetworkResult }), 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await service.createSubnet(req.body, { log: req.log });
        return reply.status(201).send({ subnet: value, network });
      },
    );

    app.delete(
      '/subnets/:name',
      { schema: { tags, summary: 'Delete a subnet (it must have no VMs)', params: NameParams, response: { 200: Deleted, 404: ErrorBody, 409: ErrorBody } } },
      async (req) => {
        const { value, network } = await service.deleteSubnet(req.params.name, { log: req.log });
        return { deleted: value.name, network };
      },
    );
  };
}
