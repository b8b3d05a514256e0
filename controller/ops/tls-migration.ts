/**
 * Moving a running plain-HTTP cluster to TLS (tls.mode auto) without losing quorum, in two rolling
 * passes, each member healthy before the next restarts:
 *   1. `dual`: every member gets its certificates, serves clients over https and http on the same
 *      port, and can dial TLS peers; its own peer URL is still http. (etcd serves both schemes on
 *      one client listener; a peer listener has one scheme.)
 *   2. `tls`: one member at a time, its registered peer URL becomes https (`member update`), and it
 *      restarts serving peers and clients over TLS only. Between the update and the restart its
 *      peers cannot reach it: it counts as out, so the others must all be healthy, and a cluster of
 *      fewer than three voting members would lose quorum (--allow-downtime).
 * Each pass is a deploy plan of its own; where a member is comes from its env file and the member
 * list, so an interrupted migration resumes where it stopped. Pure.
 */
import type { EtcdMember } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { peerUrl, type Scheme } from '../render/urls.ts';
import { envFileValue } from './config.ts';
import { memberAt } from './membership.ts';

export type TlsStage = 'plain' | 'dual' | 'tls';

const urls = (value: string | undefined) => (value ?? '').split(',').filter(Boolean);

/** Where a member's env file puts it, or undefined without a readable one. */
export function stageOfEnv(env: string | undefined): TlsStage | undefined {
  const peers = urls(envFileValue(env, 'ETCD_LISTEN_PEER_URLS'));
  const clients = urls(envFileValue(env, 'ETCD_ADVERTISE_CLIENT_URLS'));
  if (peers.length === 0 || clients.length === 0) return undefined;
  if (peers.every((u) => u.startsWith('https://'))) return 'tls';
  return clients.some((u) => u.startsWith('https://')) ? 'dual' : 'plain';
}

/** The scheme a member serves its loopback client URL in, as its env file says (https where it can). */
export function loopbackSchemeOfEnv(env: string | undefined): Scheme | undefined {
  const listen = urls(envFileValue(env, 'ETCD_LISTEN_CLIENT_URLS'));
  if (listen.length === 0) return undefined;
  return listen.some((u) => u.startsWith('https://')) ? 'https' : 'http';
}

export interface MigrationHost {
  spec: HostSpec;
  envFile: string | undefined;
  /** The member has data: it ran (a host without is not part of the running cluster yet). */
  hasData: boolean;
}

export interface TlsMigration {
  pass: 'dual' | 'tls';
  /** Hosts rendered half way (pass 1). */
  dual: Set<string>;
  /** Pass 2: hosts half way now, rendered all TLS (their ETCD_INITIAL_* settings too). */
  moving: Set<string>;
  /** Pass 2: hosts whose member's registered peer URL becomes https before it restarts, with that URL. */
  peerUpdates: Map<string, string>;
  /** Why a step would lose quorum (fewer than three voting members), if it would. */
  downtime: string | undefined;
}

/**
 * The pass this deploy runs, or undefined when no member is on its way to TLS (tls.mode off, a new
 * cluster, or one already on TLS). `members`: the live member list, when the cluster answered.
 */
export function planTlsMigration(
  inv: Inventory,
  hosts: MigrationHost[],
  members: EtcdMember[] | undefined,
): TlsMigration | undefined {
  if (inv.tls.mode === 'off') return undefined;
  const ran = hosts.filter((h) => h.hasData && stageOfEnv(h.envFile) !== undefined);
  const stages = new Map(ran.map((h) => [h.spec.name, stageOfEnv(h.envFile)!]));
  const plainPeer = (h: MigrationHost) => {
    const m = members && memberAt(inv, members, h.spec);
    return m !== undefined && !m.isLearner && m.peerURLs.some((u) => u.startsWith('http://'));
  };
  const voters = members?.filter((m) => !m.isLearner).length ?? ran.length;
  const downtime =
    voters < 3
      ? `moving peers to TLS takes each member out of the cluster for a moment, and ${voters} voting member${voters === 1 ? '' : 's'} cannot spare one`
      : undefined;
  if ([...stages.values()].includes('plain')) {
    const dual = new Set(ran.filter((h) => stages.get(h.spec.name) !== 'tls').map((h) => h.spec.name));
    return { pass: 'dual', dual, moving: new Set(), peerUpdates: new Map(), downtime: undefined };
  }
  const moving = ran.filter((h) => stages.get(h.spec.name) === 'dual');
  const updates = ran.filter(plainPeer);
  if (moving.length === 0 && updates.length === 0) return undefined;
  return {
    pass: 'tls',
    dual: new Set(),
    moving: new Set(moving.map((h) => h.spec.name)),
    peerUpdates: new Map(updates.map((h) => [h.spec.name, peerUrl(h.spec, inv, 'https')] as const)),
    downtime: updates.length > 0 ? downtime : undefined,
  };
}
