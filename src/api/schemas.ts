// Every request and response schema of the HTTP API, in one place. Fastify validates requests with them, serializes
// responses with them, and @fastify/swagger publishes them at /docs. Shapes only: the domain (CloudService) checks
// what needs the store (overlaps, capacity, references) and says which field is wrong.
import { Type, type Static } from 'typebox';
import { NODE_ROLES } from '../topology/model.js';
import { AZ_NAME, IMAGE_REF, NODE_NAME, STORED_NAME, SUBNET_NAME, VM_NAME, type NameRule } from '../topology/names.js';
import { VM_STATES } from '../topology/records.js';

/** A name field checked by one of src/topology/names.ts's rules: its pattern, length and words come from there. */
const Named = (rule: NameRule, description: string, extra: { examples?: string[] } = {}) =>
  Type.String({ minLength: 1, maxLength: rule.maxLength, pattern: rule.pattern, description: `${description} ${rule.text}.`, ...extra });
/** A reference to an existing record: any name an older version accepted (STORED_NAME), so older records stay reachable. */
const Ref = (description: string) => Named(STORED_NAME, description);
const Ipv4 = (description: string) => Type.String({ minLength: 7, maxLength: 15, description, examples: ['10.0.0.11'] });
const Optional = Type.Optional;

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'not_found, invalid, conflict, capacity_exhausted, unauthorized, body_too_large, ...' }),
    message: Type.String({ description: 'What is wrong, naming the field when there is one.' }),
    field: Optional(Type.String()),
    requestId: Type.String(),
  }),
});

export const NetworkResult = Type.Object({
  confirmed: Type.Array(Type.String(), { description: 'Nodes whose switches confirmed the new flows.' }),
  pending: Type.Array(Type.String(), { description: 'Nodes not connected or not confirmed yet: they get their flows when they (re)connect.' }),
});

export const Role = Type.Union([Type.Literal('compute'), Type.Literal('gateway'), Type.Literal('switch'), Type.Literal('dhcp'), Type.Literal('management')], {
  description: NODE_ROLES.join(', '),
});

export const Node = Type.Object({
  name: Type.String(),
  roles: Type.Array(Role),
  underlayIp: Type.String(),
  serviceIp: Optional(Type.String()),
  sshTarget: Optional(Type.String()),
  az: Optional(Type.String()),
  cpus: Type.Integer(),
  memoryMiB: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  used: Type.Object({ cpus: Type.Integer(), memoryMiB: Type.Integer(), vms: Type.Integer() }),
  provisioning: Optional(
    Type.Object(
      {
        state: Type.Union([Type.Literal('provisioning'), Type.Literal('ready'), Type.Literal('waiting'), Type.Literal('failed')]),
        at: Type.String({ format: 'date-time' }),
        error: Optional(Type.String()),
        attempts: Optional(Type.Integer({ minimum: 1, description: 'Failed or waiting runs in a row (the backoff grows with them); absent once a run went through.' })),
        nextRetryAt: Optional(Type.String({ format: 'date-time', description: 'When the next retry runs (failed or waiting), without waiting for a change of the cloud.' })),
      },
      { description: "When the controller provisions nodes: the last outcome of bringing this node to its spec (failed: the command and its error; failed and waiting nodes are retried with a jittered exponential backoff, provisioning.retryMinSeconds to retryMaxSeconds)." },
    ),
  ),
});

export const NodeRemoval = Type.Object(
  {
    name: Type.String(),
    roles: Type.Array(Role),
    underlayIp: Type.String(),
    sshTarget: Optional(Type.String()),
    requestedAt: Type.String({ format: 'date-time' }),
    attempts: Type.Integer({ description: 'Failed attempts so far.' }),
    lastError: Optional(Type.String()),
    nextAttemptAt: Type.String({ format: 'date-time' }),
  },
  { description: 'A removed node whose undo on the node (what its bootstrap made) has not gone through yet: retried with backoff, and at every controller start.' },
);

export const AddNodeBody = Type.Object(
  {
    name: Named(NODE_NAME, 'Node name (also its switch port sw-NAME, so short):'),
    roles: Type.Array(Role, { minItems: 1, maxItems: NODE_ROLES.length }),
    underlayIp: Ipv4('Address on the underlay network (its VXLAN local_ip).'),
    serviceIp: Optional(Ipv4('Gateways: the tunnel endpoint other nodes send to (default: underlayIp).')),
    sshTarget: Optional(Type.String({ minLength: 1, maxLength: 300, description: '[user@]host[:port] for node configuration.' })),
    az: Optional(Named(AZ_NAME, 'Availability zone:', { examples: ['AZ-1'] })),
    cpus: Optional(Type.Integer({ minimum: 0, maximum: 100000, description: 'Compute nodes: CPUs for VMs.' })),
    memoryMiB: Optional(Type.Integer({ minimum: 0, maximum: 1 << 30, description: 'Compute nodes: memory for VMs, MiB.' })),
  },
  { additionalProperties: false },
);

export const Subnet = Type.Object({
  name: Type.String(),
  project: Type.String({ description: 'The project it belongs to.' }),
  cidr: Type.String(),
  prefixLength: Type.Integer(),
  gatewayIp: Type.String(),
  vni: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  addresses: Type.Object({ usable: Type.Integer(), used: Type.Integer(), free: Type.Integer() }),
});

export const CreateSubnetBody = Type.Object(
  {
    name: Named(SUBNET_NAME, 'Subnet name:'),
    prefixLength: Optional(Type.Integer({ minimum: 0, maximum: 32, description: 'Carve the next free block of this length from the overlay (default 27).' })),
    cidr: Optional(Type.String({ minLength: 9, maxLength: 18, description: 'Or take exactly this block of the overlay.', examples: ['192.168.20.64/27'] })),
  },
  { additionalProperties: false },
);

export const VmState = Type.Union(
  [Type.Literal('creating'), Type.Literal('running'), Type.Literal('stopped'), Type.Literal('deleting'), Type.Literal('error')],
  { description: VM_STATES.join(', ') },
);

export const Vm = Type.Object({
  name: Type.String({ description: 'Unique within its project (another project may have a VM of the same name).' }),
  project: Type.String({ description: 'The project it belongs to (its subnet and security groups are of the same project).' }),
  instance: Optional(
    Type.String({ description: "Its name on its node (LXD container, netns namespace): its name in the default project, PROJECT--NAME in another; unique across the cloud." }),
  ),
  subnet: Type.String({ description: 'Its subnet, of its project.' }),
  node: Type.String({ description: 'The compute node it runs on.' }),
  gateway: Type.String({ description: 'The gateway node it egresses through.' }),
  ip: Type.String({ description: 'Its address, unique within its project (another project may have a VM with the same one).' }),
  transitIp: Optional(
    Type.String({ description: "VMs of projects other than default: the cloud-unique address its gateway's kernel knows it by (network.transitRange; SNAT, floating IPs)." }),
  ),
  mac: Type.String(),
  flavor: Type.String(),
  cpus: Type.Integer(),
  memoryMiB: Type.Integer(),
  image: Type.String(),
  port: Type.String({ description: "Its interface on the node's br0." }),
  state: VmState,
  error: Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  // Unsafe only for the TypeScript side: records hold readonly arrays; the JSON schema is the array's.
  securityGroups: Optional(Type.Unsafe<readonly string[]>(Type.Array(Type.String(), { description: 'Its security groups (default when it was given none).' }))),
});

export const CreateVmBody = Type.Object(
  {
    name: Named(VM_NAME, "VM name, unique within the request's project (its hostname; its container name is PROJECT--NAME outside the default project):"),
    subnet: Ref("Subnet name (of the request's project):"),
    flavor: Type.String({ minLength: 1, maxLength: 32, description: "'4C8G', '2C512M' or tiny, small, medium, large, xlarge.", examples: ['4C8G'] }),
    image: Named(IMAGE_REF, 'Image:', { examples: ['minicloud-busybox', 'images:debian/12'] }),
    gateway: Optional(Ref('Gateway node for its egress (default: one in its AZ with the fewest VMs):')),
    az: Optional(Named(AZ_NAME, 'Only compute nodes of this AZ:')),
    node: Optional(Ref('Exactly this compute node:')),
    securityGroups: Optional(
      Type.Array(Ref('Security group:'), { maxItems: 8, description: 'Its security groups (at most 8; none: default). Change them later with PUT /vms/{name}/security-groups.' }),
    ),
  },
  { additionalProperties: false },
);

export const SetGatewayBody = Type.Object({ gateway: Ref('The gateway node to egress through:') }, { additionalProperties: false });

export const ExecBody = Type.Object(
  {
    command: Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 256, description: 'argv, run without a shell.' }),
  },
  { additionalProperties: false },
);

export const VmExecResult = Type.Object({ exitCode: Type.Integer(), stdout: Type.String(), stderr: Type.String() });

export const FlowRow = Type.Object({
  table: Type.Integer(),
  priority: Type.Integer(),
  cookie: Type.String(),
  packets: Type.Number(),
  bytes: Type.Number(),
  durationSeconds: Type.Number(),
  text: Type.String({ description: 'The flow in ovs-ofctl syntax, counters included.' }),
});

export const Datapath = Type.Object({
  node: Type.String(),
  dpid: Type.String(),
  connected: Type.Boolean(),
  since: Type.String(),
  ports: Type.Array(Type.Object({ name: Type.String(), number: Type.Integer() })),
});

export const NameParams = Type.Object({ name: Ref('Name:') });
export const VmQuery = Type.Object({ node: Optional(Ref('Only VMs on this node:')), subnet: Optional(Ref('Only VMs in this subnet:')) }, { additionalProperties: false });

export const Deleted = Type.Object({ deleted: Type.String(), network: NetworkResult });
export const RemoveNodeQuery = Type.Object(
  {
    force: Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: the host is gone for good: undo nothing on it (drops a pending removal too).' }),
    ),
  },
  { additionalProperties: false },
);
export const ResyncResult = Type.Object({ node: Type.String(), flowMods: Type.Integer(), seconds: Type.Number() });

export type AddNodeBodyT = Static<typeof AddNodeBody>;
export type CreateSubnetBodyT = Static<typeof CreateSubnetBody>;
export type CreateVmBodyT = Static<typeof CreateVmBody>;
