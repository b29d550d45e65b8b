import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { Datapath } from '../schemas.js';

export function datapathRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/datapaths',
      {
        schema: {
          tags: ['datapaths'],
          summary: "Every node's switch and its connection state",
          response: { 200: Type.Object({ datapaths: Type.Array(Datapath) }) },
        },
      },
      async () => ({ datapaths: service.datapaths() }),
    );
  };
}
