// Request and response schemas of /api/v1/projects.
import { Type } from 'typebox';
import { MAX_DESCRIPTION } from '../cloud/index.js';
import { PROJECT_NAME } from '../topology/names.js';
import { MAX_PROJECTS, MAX_QUOTA } from '../topology/projects.js';

const Count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_QUOTA, description }));

export const Quotas = Type.Object(
  {
    vms: Count('VMs'),
    vcpus: Count('vCPUs of its VMs, summed'),
    memoryMiB: Count('memory of its VMs, summed (MiB)'),
    subnets: Count('subnets'),
    floatingIps: Count('floating IPs (allocated, attached or not)'),
  },
  { additionalProperties: false, description: 'Upper bounds; a kind left out is unlimited. A request past one is refused with 409 quota_exceeded.' },
);

const Usage = Type.Object({ vms: Type.Integer(), vcpus: Type.Integer(), memoryMiB: Type.Integer(), subnets: Type.Integer(), floatingIps: Type.Integer() });

export const Project = Type.Object({
  name: Type.String(),
  description: Type.String(),
  overlay: Type.String({ description: "The range its subnets are carved from (the cloud's overlay unless given)." }),
  securityGroup: Type.String({ description: 'Its default security group: what its VMs join when given none.' }),
  quotas: Quotas,
  usage: Usage,
  createdAt: Type.String({ format: 'date-time' }),
});

const nameOptions = { minLength: 1, maxLength: PROJECT_NAME.maxLength, pattern: PROJECT_NAME.pattern };
const Name = Type.String({ ...nameOptions, description: `Project name: ${PROJECT_NAME.text}.` });

export const ProjectParams = Type.Object({ name: Name });

export const CreateProjectBody = Type.Object(
  {
    name: Type.String({ ...nameOptions, description: `Project name: ${PROJECT_NAME.text}. At most ${MAX_PROJECTS} projects.` }),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    overlay: Type.Optional(
      Type.String({
        maxLength: 18,
        description:
          "Where its subnets are carved from (IPv4 CIDR, /8 to /30); default: the cloud's overlay range. Subnet blocks stay unique across projects until the pipeline keeps projects apart.",
        examples: ['10.10.0.0/16'],
      }),
    ),
    quotas: Type.Optional(Quotas),
  },
  { additionalProperties: false },
);

export const UpdateProjectBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    quotas: Type.Optional(Type.Object(Quotas.properties, { additionalProperties: false, description: 'Replaces the quotas whole.' })),
  },
  { additionalProperties: false },
);
