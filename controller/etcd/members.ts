import { type EtcdId, idToHex } from './ids.ts';
import type { RawMember, RawStatus, ResponseHeader } from './schemas.ts';

/** A cluster member as tskv uses it (absent gateway fields filled with etcd's defaults). */
export interface EtcdMember {
  /** Decimal, as the gateway sends it. */
  id: EtcdId;
  /** etcdctl's form: lowercase hex, unpadded. */
  idHex: string;
  /** Empty until the member has started and published its name. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  /** etcdctl's "started": the member has published its name. */
  started: boolean;
}

export function normaliseMember(raw: RawMember): EtcdMember {
  const name = raw.name ?? '';
  return {
    id: raw.ID,
    idHex: idToHex(raw.ID),
    name,
    peerURLs: raw.peerURLs ?? [],
    clientURLs: raw.clientURLs ?? [],
    isLearner: raw.isLearner ?? false,
    started: name !== '',
  };
}

export function normaliseMembers(raw: RawMember[] | undefined): EtcdMember[] {
  return (raw ?? []).map(normaliseMember);
}

/** One member's view from `/v3/maintenance/status`. */
export interface EtcdStatus {
  /** The endpoint name that answered. */
  endpoint: string;
  version: string;
  clusterId: EtcdId;
  /** The answering member's ID (decimal). */
  memberId: EtcdId;
  /** The leader it knows of ("0" when none). */
  leaderId: EtcdId;
  isLeader: boolean;
  isLearner: boolean;
  dbSize: number;
  dbSizeInUse: number;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  revision: number;
  /** Alarm and other errors the member reports (e.g. "NOSPACE"). */
  errors: string[];
}

const num = (text: string | undefined): number => (text === undefined ? 0 : Number(text));

export function normaliseStatus(endpoint: string, raw: RawStatus): EtcdStatus {
  const header: ResponseHeader = raw.header ?? {};
  const memberId = header.member_id ?? '0';
  const leaderId = raw.leader ?? '0';
  return {
    endpoint,
    version: raw.version,
    clusterId: header.cluster_id ?? '0',
    memberId,
    leaderId,
    isLeader: leaderId !== '0' && leaderId === memberId,
    isLearner: raw.isLearner ?? false,
    dbSize: num(raw.dbSize),
    dbSizeInUse: num(raw.dbSizeInUse),
    raftIndex: num(raw.raftIndex),
    raftTerm: num(raw.raftTerm),
    raftAppliedIndex: num(raw.raftAppliedIndex),
    revision: num(header.revision),
    errors: raw.errors ?? [],
  };
}

/** Finds a member by name or by etcdctl's hex ID (case-insensitive) or by decimal ID. */
export function findMember(members: EtcdMember[], nameOrId: string): EtcdMember | undefined {
  const byName = members.find((m) => m.name !== '' && m.name === nameOrId);
  if (byName) return byName;
  const lower = nameOrId.toLowerCase().replace(/^0x/, '');
  return members.find((m) => m.idHex === lower || m.id === nameOrId);
}
