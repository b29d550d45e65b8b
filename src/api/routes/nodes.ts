import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { AddNodeBody, Deleted, ErrorBody, FlowRow, NameParams, NetworkResult, Node, NodeRemoval, RemoveNodeQuery, ResyncResult } from '../schemas.js';

const tags = ['nodes'];

export function nodeRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/nodes',
      { schema: { tags, summary: 'List nodes, and removed nodes whose undo is pending', response: { 200: Type.Object({ nodes: Type.Array(Node), removals: Type.Array(NodeRemoval) }) } } },
      async () => ({ nodes: service.listNodes(), removals: service.listNodeRemovals() }),
    );

    app.get(
      '/nodes/:name',
      { schema: { tags, summary: 'Show a node', params: NameParams, response: { 200: Type.Object({ node: Node }), 404: ErrorBody } } },
      async (req) => ({ node: service.getNode(req.params.name) }),
    );

    app.post(
      '/nodes',
      {
        schema: {
          tags,
          summary: 'Add a node',
          body: AddNodeBody,
          response: { 201: Type.Object({ node: Node, network: NetworkResult }), 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await service.addNode(req.body, { log: req.log });
        return reply.status(201).send({ node: value, network });
      },
    );

    app.delete(
      '/nodes/:name',
      {
        schema: {
          tags,
          summary: 'Remove a node (it must have no VMs); undoing its bootstrap follows',
          params: NameParams,
          querystring: RemoveNodeQuery,
          response: { 200: Deleted, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await service.removeNode(req.params.name, { log: req.log }, { force: req.query.force === 'true' });
        return { deleted: value.name, network };
      },
    );

    app.get(
      '/nodes/:name/flows',
      {
        schema: {
          tags,
          summary: "The node's installed flows with their counters",
          params: NameParams,
          response: { 200: Type.Object({ node: Type.String(), flows: Type.Array(FlowRow) }), 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => ({ node: req.params.name, flows: await service.flows(req.params.name) }),
    );

    app.post(
      '/nodes/:name/resync',
      {
        schema: {
          tags,
          summary: "Read the node's flows and send what differs from its pipeline",
          params: NameParams,
          response: { 200: ResyncResult, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => service.resync(req.params.name, { log: req.log }),
    );
  };
}
