import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CloudService, SecurityGroupView } from '../../cloud/index.js';
import { Deleted, ErrorBody, NameParams, NetworkResult, Vm } from '../schemas.js';
import { ctxOf, PROJECT_READ, PROJECT_WRITE } from '../scope.js';
import {
  CreateRuleBody,
  CreateSecurityGroupBody,
  GroupParams,
  RuleMutation,
  RuleParams,
  SecurityGroup,
  SecurityGroupMutation,
  VmGroupsBody,
} from '../security-group-schemas.js';

const tags = ['security-groups'];

/** The API's (mutable) shape of a group. */
const shown = (g: SecurityGroupView) => ({ ...g, rules: [...g.rules], members: [...g.members] });

// Reads need a viewer token, changes an admin token (the defaults of auth.ts, said here so nobody has to look).
// Scoped to a project: a member token of the group's project may change it too (auth.ts).
const read = PROJECT_READ;
const write = PROJECT_WRITE;

export function securityGroupRoutes(service: CloudService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const groups = service.securityGroups;
    app.get(
      '/security-groups',
      { config: read, schema: { tags, summary: 'List security groups with their rules and members', response: { 200: Type.Object({ securityGroups: Type.Array(SecurityGroup) }) } } },
      async (req) => ({ securityGroups: groups.list(ctxOf(req)).map(shown) }),
    );

    app.get(
      '/security-groups/:name',
      { config: read, schema: { tags, summary: 'Show a security group', params: GroupParams, response: { 200: Type.Object({ securityGroup: SecurityGroup }), 404: ErrorBody } } },
      async (req) => ({ securityGroup: shown(groups.get(req.params.name, ctxOf(req))) }),
    );

    app.post(
      '/security-groups',
      {
        config: write,
        schema: {
          tags,
          summary: 'Create a security group (it starts with one rule: all egress)',
          body: CreateSecurityGroupBody,
          response: { 201: SecurityGroupMutation, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const { value, network } = await groups.create(req.body, ctxOf(req));
        return reply.status(201).send({ securityGroup: shown(value), network });
      },
    );

    app.delete(
      '/security-groups/:name',
      {
        config: write,
        schema: {
          tags,
          summary: 'Delete a security group (no VM in it, no other group\'s rule naming it; never default)',
          params: GroupParams,
          response: { 200: Deleted, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await groups.delete(req.params.name, ctxOf(req));
        return { deleted: value.name, network };
      },
    );

    app.post(
      '/security-groups/:name/rules',
      {
        config: write,
        schema: {
          tags,
          summary: 'Add an allow rule (stateful: replies are allowed too); remote defaults to 0.0.0.0/0',
          params: GroupParams,
          body: CreateRuleBody,
          response: { 201: RuleMutation, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const spec = {
          direction: b.direction,
          protocol: b.protocol,
          ...(b.portMin !== undefined && { portMin: b.portMin }),
          ...(b.portMax !== undefined && { portMax: b.portMax }),
          ...(b.icmpType !== undefined && { icmpType: b.icmpType }),
          ...(b.icmpCode !== undefined && { icmpCode: b.icmpCode }),
          ...(b.remoteGroup !== undefined ? { remoteGroup: b.remoteGroup } : { remoteCidr: b.remoteCidr ?? '0.0.0.0/0' }),
          ...(b.remoteGroup !== undefined && b.remoteCidr !== undefined && { remoteCidr: b.remoteCidr }),
        };
        const { value, network } = await groups.addRule(req.params.name, spec, ctxOf(req));
        return reply.status(201).send({ rule: value, network });
      },
    );

    app.delete(
      '/security-groups/:name/rules/:id',
      {
        config: write,
        schema: {
          tags,
          summary: 'Delete a rule: new packets it allowed stop at once (see docs/security-groups.md for conntrack entries)',
          params: RuleParams,
          response: { 200: Deleted, 404: ErrorBody },
        },
      },
      async (req) => {
        const { value, network } = await groups.deleteRule(req.params.name, Number(req.params.id), ctxOf(req));
        return { deleted: value.name, network };
      },
    );

    app.put(
      '/vms/:name/security-groups',
      {
        config: write,
        schema: {
          tags: ['vms', ...tags],
          summary: "Set a VM's security groups (empty: default)",
          params: NameParams,
          body: VmGroupsBody,
          response: { 200: Type.Object({ vm: Vm, network: NetworkResult }), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => {
        const { network } = await groups.setVmGroups(req.params.name, req.body.securityGroups, ctxOf(req));
        return { vm: service.getVm(req.params.name, ctxOf(req)), network };
      },
    );
  };
}
