/** controller/etcd: the only code that speaks etcd's HTTP API. Import from here. */
export {
  DEFAULT_TIMEOUT_MS,
  EtcdClient,
  type HealthResult,
  type KeyValue,
  type MemberAddResult,
  type MemberListResult,
  type VersionResult,
} from './client.ts';
export { type EndpointResult, EtcdCluster, type FailoverOptions } from './cluster.ts';
export { EtcdError, type EtcdFailureKind, GRPC, isEtcdError } from './errors.ts';
export {
  formatInitialCluster,
  formatMemberAddEnv,
  formatMemberAdded,
  formatMemberList,
  formatMemberPromoted,
  formatMemberRemoved,
  goQuote,
} from './format.ts';
export { type EtcdId, hexToId, idToBigInt, idToHex, idToPaddedHex, isHexId } from './ids.ts';
export { type EtcdMember, type EtcdStatus, findMember, normaliseMember, normaliseStatus } from './members.ts';
export type { CallOptions, EtcdEndpoint } from './transport.ts';
