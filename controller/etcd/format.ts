import { type EtcdId, idToPaddedHex } from './ids.ts';
import type { EtcdMember } from './members.ts';

/**
 * Text exactly as etcdctl (v3 API, simple output) prints it, so operators and scripts that know
 * etcdctl read tskv's output the same way. Functions return the lines without the final newline.
 */

/** `etcdctl member list`: "ID, started|unstarted, name, peerURLs, clientURLs, isLearner". */
export function formatMemberList(members: EtcdMember[]): string {
  return members
    .map((m) =>
      [
        m.idHex,
        m.started ? 'started' : 'unstarted',
        m.name,
        m.peerURLs.join(','),
        m.clientURLs.join(','),
        m.isLearner ? 'true' : 'false',
      ].join(', '),
    )
    .join('\n');
}

/** Go's `%q` for the strings etcdctl quotes (names and URLs). */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** First line of `etcdctl member add`; etcdctl 3.6 says "added as learner to", 3.4 and 3.5 (checked: 3.5.30) do not. */
export function formatMemberAdded(
  memberId: EtcdId,
  clusterId: EtcdId,
  isLearner: boolean,
  options: { learnerWording?: boolean } = {},
): string {
  const asLearner = isLearner && (options.learnerWording ?? false) ? ' as learner ' : ' ';
  return `Member ${idToPaddedHex(memberId)} added${asLearner}to cluster ${idToPaddedHex(clusterId)}`;
}

export function formatMemberRemoved(memberId: EtcdId, clusterId: EtcdId): string {
  return `Member ${idToPaddedHex(memberId)} removed from cluster ${idToPaddedHex(clusterId)}`;
}

export function formatMemberPromoted(memberId: EtcdId, clusterId: EtcdId): string {
  return `Member ${idToPaddedHex(memberId)} promoted in cluster ${idToPaddedHex(clusterId)}`;
}

/**
 * The `--initial-cluster` a joining member needs: every member's `name=peerURL` in etcd's order,
 * learners and unstarted members included (an unstarted one has no name yet: "=url", as etcdctl
 * prints it), the joining member under its new name.
 */
export function formatInitialCluster(members: EtcdMember[], joining?: { id: EtcdId; name: string }): string {
  const conf: string[] = [];
  for (const m of members) {
    const name = joining !== undefined && m.id === joining.id ? joining.name : m.name;
    for (const url of m.peerURLs) conf.push(`${name}=${url}`);
  }
  return conf.join(',');
}

/**
 * The environment block `etcdctl member add` prints after its first line: a blank line, then
 * ETCD_NAME, ETCD_INITIAL_CLUSTER (every member's peer URLs, learners and unstarted members
 * included, the new one under `name`), ETCD_INITIAL_ADVERTISE_PEER_URLS and
 * ETCD_INITIAL_CLUSTER_STATE="existing". `members` is the list after the add, in etcd's order.
 * The new member is `newMemberId`, or else the member owning one of `newPeerURLs`.
 */
export function formatMemberAddEnv(
  name: string,
  members: EtcdMember[],
  newPeerURLs: string[],
  newMemberId?: EtcdId,
): string {
  const id = newMemberId ?? members.find((m) => m.peerURLs.some((u) => newPeerURLs.includes(u)))?.id;
  const conf = formatInitialCluster(members, id === undefined ? undefined : { id, name });
  return [
    '',
    `ETCD_NAME=${goQuote(name)}`,
    `ETCD_INITIAL_CLUSTER=${goQuote(conf)}`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(newPeerURLs.join(','))}`,
    'ETCD_INITIAL_CLUSTER_STATE="existing"',
  ].join('\n');
}
