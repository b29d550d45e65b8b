// Request and response schemas of /api/v1/tokens (kept apart from schemas.ts, which holds the cloud's).
import { Type } from 'typebox';
import { PROJECT_NAME } from '../topology/names.js';
import { MAX_TOKENS, TOKEN_NAME_PATTERN } from './tokens.js';

export const TokenRole = Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')], {
  description:
    "admin: everything (never scoped to a project); member: reads and writes its project's subnets, VMs and security groups (needs a project); viewer: read-only (GET and HEAD) of the whole cloud, or of its project when scoped. Anything else is refused with 403.",
});

export const TokenInfo = Type.Object({
  name: Type.String(),
  role: TokenRole,
  project: Type.Optional(Type.String({ description: 'The one project the token sees and touches; absent: the whole cloud.' })),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Updated at most once a minute.' })),
});

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ pattern: TOKEN_NAME_PATTERN, maxLength: 63, description: `Token name (letters, digits, . _ -). At most ${MAX_TOKENS} tokens.` }),
    role: Type.Optional(TokenRole),
    project: Type.Optional(
      Type.String({ minLength: 1, maxLength: PROJECT_NAME.maxLength, pattern: PROJECT_NAME.pattern, description: 'Scope the token to this project (member: required; viewer: optional; admin: never).' }),
    ),
  },
  { additionalProperties: false },
);

export const CreatedToken = Type.Object({
  token: Type.String({ description: 'The secret: shown in this answer only, the controller keeps a hash of it.' }),
  info: TokenInfo,
});

export const TokenNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) });
