/** Is `tskv member add` / `member remove` safe on the live cluster? The member to act on, or why not. Pure. */
import { type EtcdMember, findMember } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { peerUrl } from '../render/urls.ts';
import { type ClusterView, changesInFlight, quorumOf, unhealthyOthers, voters } from './cluster-view.ts';
import { hostAt, memberLabel } from './membership.ts';

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string; fix?: string };

const no = <T>(reason: string, fix?: string): Verdict<T> => ({
  ok: false,
  reason,
  ...(fix === undefined ? {} : { fix }),
});

export interface RemoveTarget {
  member: EtcdMember;
  /** The inventory host at the member's address (where etcd is stopped and the data dir moved aside). */
  host: HostSpec | undefined;
}

/**
 * Removing `nameOrId` keeps quorum: the member exists, it is not the last voter, and the voters
 * left behind that are healthy are still a majority of the smaller cluster.
 */
export function checkRemove(inv: Inventory, view: ClusterView, nameOrId: string): Verdict<RemoveTarget> {
  const member = findMember(view.members, nameOrId);
  if (!member) {
    return no(
      `${nameOrId} is not a member; members: ${view.members.map((m) => `${memberLabel(m)} ${m.idHex}`).join(', ')}`,
      'give the member by its name or hex ID as tskv member list prints them',
    );
  }
  const host = hostAt(inv, member);
  if (member.isLearner) return { ok: true, value: { member, host } };
  const allVoters = voters(view.members);
  if (allVoters.length <= 1) {
    return no(`${memberLabel(member)} is the only voting member: removing it would end the cluster`);
  }
  const remaining = allVoters.filter((m) => m.id !== member.id);
  const healthy = remaining.filter((m) => view.health.get(m.id)?.healthy ?? false);
  if (healthy.length < quorumOf(remaining.length)) {
    return no(
      `removing ${memberLabel(member)} would leave ${healthy.length} healthy of ${remaining.length} voters, short of a quorum of ${quorumOf(remaining.length)}: ${unhealthyOthers(view, member.id).join(', ')}`,
      'bring the unhealthy members back first (tskv status)',
    );
  }
  return { ok: true, value: { member, host } };
}

export type AddTarget =
  | { kind: 'add'; host: HostSpec; peerURLs: string[] }
  /** Added by an earlier run but never started: start it (with --start), do not add it again. */
  | { kind: 'resume'; host: HostSpec; member: EtcdMember }
  | { kind: 'already'; host: HostSpec; member: EtcdMember };

/** Adding inventory host `name` as a voting member is safe: not a member yet, nothing else in flight, every voter healthy. */
export function checkAdd(inv: Inventory, view: ClusterView, name: string): Verdict<AddTarget> {
  const host = inv.hosts.find((h) => h.name === name);
  if (!host) {
    return no(
      `${name} is not a host in ${inv.file}`,
      `add it to the inventory first; hosts: ${inv.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  const url = peerUrl(host, inv);
  const atUrl = view.members.find((m) => m.peerURLs.includes(url));
  if (atUrl && !atUrl.started) return { ok: true, value: { kind: 'resume', host, member: atUrl } };
  if (atUrl && atUrl.name === name) return { ok: true, value: { kind: 'already', host, member: atUrl } };
  if (atUrl) {
    return no(
      `${url} is the peer URL of member ${atUrl.name} (${atUrl.idHex})`,
      `the seed's way to bring the host back under a new name: tskv replace ${inv.file} ${atUrl.name}=${name}`,
    );
  }
  const named = view.members.find((m) => m.name === name);
  if (named) {
    return no(
      `a member named ${name} already exists at ${named.peerURLs.join(',')}`,
      'member names must be unique',
    );
  }
  const inFlight = changesInFlight(view.members);
  if (inFlight.length > 0) {
    return no(
      `another membership change is in progress (${inFlight.map(memberLabel).join(', ')}): two changes at once`,
      'finish or remove it first',
    );
  }
  const sick = unhealthyOthers(view, undefined);
  if (sick.length > 0) {
    return no(
      `not every member is healthy (${sick.join(', ')}): a new voter that has not started yet could cost the quorum`,
      'bring them back first (tskv status)',
    );
  }
  return { ok: true, value: { kind: 'add', host, peerURLs: [url] } };
}
