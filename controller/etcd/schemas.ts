import { z } from 'zod';

/**
 * Response shapes of etcd's v3 JSON gateway (3.4, 3.5, 3.6) and its plain endpoints.
 * 64-bit numbers are decimal strings; zero/false/empty fields are omitted by the gateway, so
 * almost everything is optional here and defaulted where the values are normalised.
 * Objects are loose: newer etcd versions add fields.
 */
const u64 = z.string().regex(/^[0-9]+$/, 'expected a decimal 64-bit number');

export const responseHeaderSchema = z.looseObject({
  cluster_id: u64.optional(),
  member_id: u64.optional(),
  revision: u64.optional(),
  raft_term: u64.optional(),
});

export const memberSchema = z.looseObject({
  ID: u64,
  name: z.string().optional(),
  peerURLs: z.array(z.string()).optional(),
  clientURLs: z.array(z.string()).optional(),
  isLearner: z.boolean().optional(),
});

export const memberListResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  members: z.array(memberSchema).optional(),
});

export const memberAddResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  member: memberSchema,
  members: z.array(memberSchema).optional(),
});

/** remove, update and promote all answer with the header and the resulting member list. */
export const memberChangeResponseSchema = memberListResponseSchema;

export const statusResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  version: z.string(),
  dbSize: u64.optional(),
  dbSizeInUse: u64.optional(),
  leader: u64.optional(),
  raftIndex: u64.optional(),
  raftTerm: u64.optional(),
  raftAppliedIndex: u64.optional(),
  isLearner: z.boolean().optional(),
  errors: z.array(z.string()).optional(),
});

export const keyValueSchema = z.looseObject({
  key: z.string(),
  value: z.string().optional(),
  create_revision: u64.optional(),
  mod_revision: u64.optional(),
  version: u64.optional(),
  lease: u64.optional(),
});

export const rangeResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  kvs: z.array(keyValueSchema).optional(),
  count: u64.optional(),
  more: z.boolean().optional(),
});

export const putResponseSchema = z.looseObject({ header: responseHeaderSchema.optional() });
/** `succeeded` is omitted when false (the gateway drops zero values). */
export const txnResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  succeeded: z.boolean().optional(),
});

export const deleteRangeResponseSchema = z.looseObject({
  header: responseHeaderSchema.optional(),
  deleted: u64.optional(),
});

export const moveLeaderResponseSchema = z.looseObject({ header: responseHeaderSchema.optional() });

/** Gateway error body: 3.4 `{error, message, code}`, 3.5+ `{code, message, details}`. */
export const gatewayErrorSchema = z.looseObject({
  message: z.string().optional(),
  error: z.string().optional(),
  code: z.number().optional(),
});

/** `/health`: 3.4 `{"health":"true"}`; 3.5+ adds `reason`. */
export const healthResponseSchema = z.looseObject({
  health: z.string(),
  reason: z.string().optional(),
});

/** `/version`: `{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}`. */
export const versionResponseSchema = z.looseObject({
  etcdserver: z.string(),
  etcdcluster: z.string(),
});

export type RawMember = z.infer<typeof memberSchema>;
export type RawStatus = z.infer<typeof statusResponseSchema>;
export type ResponseHeader = z.infer<typeof responseHeaderSchema>;
