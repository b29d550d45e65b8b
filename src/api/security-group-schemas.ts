// Request and response schemas of /api/v1/security-groups and a VM's groups (kept apart from schemas.ts, which holds
// the rest of the cloud's). Shapes only: the domain (src/controller/security-groups.ts) checks what needs the store
// and says which field is wrong.
import { Type } from 'typebox';
import { MAX_DESCRIPTION } from '../cloud/index.js';
import { SECURITY_GROUP_NAME, STORED_NAME } from '../topology/names.js';
import { MAX_GROUPS_PER_VM, SG_DIRECTIONS, SG_PROTOCOLS } from '../topology/security-groups.js';
import { NetworkResult } from './schemas.js';

const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
const IcmpNumber = (description: string) => Type.Integer({ minimum: 0, maximum: 255, description });
const GroupRef = (description: string) => Type.String({ minLength: 1, maxLength: STORED_NAME.maxLength, pattern: STORED_NAME.pattern, description });

export const SgDirection = Type.Union([Type.Literal('ingress'), Type.Literal('egress')], {
  description: `${SG_DIRECTIONS.join(' or ')}: ingress is traffic to the group's VMs, egress traffic from them.`,
});
export const SgProtocol = Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp'), Type.Literal('any')], {
  description: `${SG_PROTOCOLS.join(', ')} (any: every IPv4 protocol).`,
});

export const SecurityRule = Type.Object({
  id: Type.Integer({ description: 'Unique among all groups; names the rule in its flows\' cookies.' }),
  direction: SgDirection,
  protocol: SgProtocol,
  portMin: Type.Optional(Port('tcp/udp: first destination port of the range.')),
  portMax: Type.Optional(Port('tcp/udp: last destination port of the range.')),
  icmpType: Type.Optional(IcmpNumber('icmp: the ICMP type (absent: every type).')),
  icmpCode: Type.Optional(IcmpNumber('icmp: the ICMP code of that type (absent: every code).')),
  remoteCidr: Type.Optional(Type.String({ description: 'The peer address range (the source on ingress, the destination on egress).' })),
  remoteGroup: Type.Optional(Type.String({ description: "Or: the addresses of this group's member VMs, kept current as VMs come and go." })),
  createdAt: Type.String({ format: 'date-time' }),
});

export const SecurityGroup = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  project: Type.String({ description: 'The project it belongs to.' }),
  description: Type.String(),
  rules: Type.Array(SecurityRule),
  members: Type.Array(Type.String(), { description: 'Names of the VMs in the group.' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CreateSecurityGroupBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: SECURITY_GROUP_NAME.maxLength,
      pattern: SECURITY_GROUP_NAME.pattern,
      description: `Group name: ${SECURITY_GROUP_NAME.text}. A new group allows all egress (one rule, which can be deleted) and no ingress.`,
    }),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  },
  { additionalProperties: false },
);

export const CreateRuleBody = Type.Object(
  {
    direction: SgDirection,
    protocol: SgProtocol,
    portMin: Type.Optional(Port('tcp/udp only: first destination port (with portMax; absent: every port).')),
    portMax: Type.Optional(Port('tcp/udp only: last destination port.')),
    icmpType: Type.Optional(IcmpNumber('icmp only: the ICMP type, e.g. 8 (echo request); absent: every type.')),
    icmpCode: Type.Optional(IcmpNumber('icmp only, with icmpType: the ICMP code, e.g. 4 with type 3 (fragmentation needed); absent: every code.')),
    remoteCidr: Type.Optional(Type.String({ minLength: 9, maxLength: 18, description: "IPv4 CIDR, e.g. '10.0.0.0/8'. Give this or remoteGroup; neither = 0.0.0.0/0.", examples: ['0.0.0.0/0'] })),
    remoteGroup: Type.Optional(GroupRef('A security group: its members\' addresses.')),
  },
  { additionalProperties: false },
);

export const GroupParams = Type.Object({ name: GroupRef('Security group name:') });
export const RuleParams = Type.Object({ name: GroupRef('Security group name:'), id: Type.String({ pattern: '^[1-9][0-9]{0,7}$', description: 'Rule id.' }) });

export const VmGroupsBody = Type.Object(
  {
    securityGroups: Type.Array(GroupRef('Security group name.'), {
      maxItems: MAX_GROUPS_PER_VM,
      description: `The VM's groups from now on (at most ${MAX_GROUPS_PER_VM}; empty: default).`,
    }),
  },
  { additionalProperties: false },
);

export const SecurityGroupMutation = Type.Object({ securityGroup: SecurityGroup, network: NetworkResult });
export const RuleMutation = Type.Object({ rule: SecurityRule, network: NetworkResult });
