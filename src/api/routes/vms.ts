import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService } from '../../cloud/index.js';
import { ctxOf, PROJECT_READ, PROJECT_WRITE } from '../scope.js';
import { CreateVmBody, Deleted, ErrorBody, ExecBody, VmExecResult, NameParams, NetworkResult, SetGatewayBody, Vm, VmQuery } from '../schemas.js';

const tags = ['vms'];
const VmMutation = Type.Object({ vm: Vm, network: NetworkResult });

export function vmRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/vms',
      { config: PROJECT_READ, schema: { tags, summary: 'List VMs (optionally of one node or subnet)', querystring: VmQuery, response: { 200: Type.Object({ vms: Type.Array(Vm) }) } } },
      async (req) => ({ vms: service.listVms(req.query, ctxOf(req)) }),
    );

    app.get(
      '/vms/:name',
      { config: PROJECT_READ, schema: { tags, summary: 'Show a VM', params: NameParams, response: { 200: Type.Object({ vm: Vm }), 404: ErrorBody } } },
      async (req) => ({ vm: service.getVm(req.params.name, ctxOf(req)) }),
    );

    app.post(
      '/vms',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: 'Create a VM: placed, addressed, wired and started',
          body: CreateVmBody,
          response: { 201: VmMutation, 400: ErrorBody, 409: ErrorBody, 502: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await service.createVm(req.body, ctxOf(req));
        return reply.status(201).send({ vm: value, network });
      },
    );

    app.delete(
      '/vms/:name',
      { config: PROJECT_WRITE, schema: { tags, summary: 'Delete a VM', params: NameParams, response: { 200: Deleted, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody } } },
      async (req) => {
        const { value, network } = await service.deleteVm(req.params.name, ctxOf(req));
        return { deleted: value.name, network };
      },
    );

    for (const action of ['start', 'stop'] as const) {
      app.post(
        `/vms/:name/${action}`,
        { config: PROJECT_WRITE, schema: { tags, summary: `${action === 'start' ? 'Start' : 'Stop'} a VM`, params: NameParams, response: { 200: VmMutation, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody } } },
        async (req) => {
          const op = action === 'start' ? service.startVm.bind(service) : service.stopVm.bind(service);
          const { value, network } = await op(req.params.name, ctxOf(req));
          return { vm: value, network };
        },
      );
    }

    app.post(
      '/vms/:name/exec',
      {
        config: PROJECT_WRITE,
        schema: {
          tags,
          summary: 'Run a command in a running VM',
          params: NameParams,
          body: ExecBody,
          response: { 200: VmExecResult, 404: ErrorBody, 409: ErrorBody, 501: ErrorBody, 502: ErrorBody },
        },
      },
      async (req) => service.execVm(req.params.name, req.body.command, ctxOf(req)),
    );

    app.put(
      '/vms/:name/gateway',
      {
        schema: {
          tags,
          summary: "Bind a VM's egress to another gateway (failover never moves it back by itself)",
          params: NameParams,
          body: SetGatewayBody,
          response: { 200: VmMutation, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await service.setVmGateway(req.params.name, req.body.gateway, ctxOf(req));
        return { vm: value, network };
      },
    );
  };
}
