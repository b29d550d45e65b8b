// Request and response schemas of /api/v1/floating-ips.
import { Type } from 'typebox';
import { STORED_NAME } from '../topology/names.js';
import { NetworkResult } from './schemas.js';

const IPV4 = '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';
const Ref = (description: string) => Type.String({ minLength: 1, maxLength: STORED_NAME.maxLength, pattern: STORED_NAME.pattern, description: `${description} ${STORED_NAME.text}.` });

export const FloatingIp = Type.Object({
  address: Type.String({ description: 'The outside address.', examples: ['203.0.113.10'] }),
  gateway: Type.String({ description: 'The gateway whose outside link holds it.' }),
  project: Type.String(),
  vm: Type.Optional(Type.String({ description: 'The VM it is attached to; absent: not attached.' })),
  createdAt: Type.String({ format: 'date-time' }),
});

export const FloatingIpParams = Type.Object({ address: Type.String({ minLength: 7, maxLength: 15, pattern: IPV4, description: 'The floating IP (dotted quad).' }) });

export const CreateFloatingIpBody = Type.Object(
  { gateway: Type.Optional(Ref('The gateway whose pool it comes from (default: the one with the most free addresses):')) },
  { additionalProperties: false },
);

export const AttachBody = Type.Object({ vm: Ref('The VM (of the floating IP\'s project) to attach it to:') }, { additionalProperties: false });

export const FloatingIpMutation = Type.Object({ floatingIp: FloatingIp, network: NetworkResult });
