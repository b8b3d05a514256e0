/**
 * What membership changes do on one host through its agent: start a member joining an existing
 * cluster (install etcd, write its config with `existing` and the live member list, start it), and
 * retire a host (stop etcd, move its data dirs aside, never delete). Shared by member add/remove
 * and replace.
 */
import { type FactsResponse, routes } from '../../agent/api/index.ts';
import { resolveEtcdArtifact } from '../artifacts/etcd-repack.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { planInstall } from '../ops/install.ts';
import { renderHost } from '../render/render.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import { peerUrl } from '../render/urls.ts';
import { installEtcd } from './deploy-prepare.ts';
import { type ServiceStatus, serviceCall } from './deploy-service.ts';
import type { HostChannel } from './session.ts';

/** --initial-cluster for a member joining now: every live member (learners, unstarted ones) plus itself under its name. */
export function joiningInitialCluster(
  inv: Inventory,
  members: EtcdMember[],
  joining: string,
): { name: string; peerUrl: string }[] {
  const host = inv.hosts.find((h) => h.name === joining);
  const url = host ? peerUrl(host, inv) : undefined;
  const list = members.flatMap((m) =>
    m.peerURLs.map((u) => ({ name: url !== undefined && u === url ? joining : m.name, peerUrl: u })),
  );
  if (url !== undefined && !list.some((e) => e.peerUrl === url)) list.push({ name: joining, peerUrl: url });
  return list;
}

/** Installs the inventory's etcd on the host unless it is there (the tarball is pushed only when missing). */
export async function ensureEtcdInstalled(
  ch: HostChannel,
  inv: Inventory,
  facts: FactsResponse,
): Promise<string[]> {
  if (!planInstall(facts, inv.etcd)) return [];
  return installEtcd(ch, await resolveEtcdArtifact(inv.etcd), inv.etcd.version);
}

/** Installs etcd and opens the client and peer ports (peers must reach both: a firewalld default zone rejects them). */
export async function prepareHost(ch: HostChannel, inv: Inventory): Promise<FactsResponse> {
  const facts = await ch.agent.call(routes.facts, { dataDir: ch.spec.dataDir }, { step: 'facts' });
  const ports = [inv.cluster.clientPort, inv.cluster.peerPort];
  // The tarball travels over SSH while the agent opens the firewall.
  await Promise.all([
    ensureEtcdInstalled(ch, inv, facts),
    ch.agent.call(routes.firewallOpen, { ports }, { step: 'open firewall' }),
  ]);
  return facts;
}

/**
 * Starts `ch`'s member (prepared by prepareHost) joining the live cluster: writes the env file
 * with `initial-cluster-state existing` and the live member list, and starts (or, when its config
 * changed or etcd exited, restarts) the service.
 */
export async function startJoiningMember(
  ch: HostChannel,
  inv: Inventory,
  members: EtcdMember[],
  facts: FactsResponse,
): Promise<ServiceStatus> {
  const initialCluster = joiningInitialCluster(inv, members, ch.spec.name);
  const env = renderHost(inv, ch.spec.name, 'env', { state: 'existing', initialCluster });
  const written = await ch.agent.call(
    routes.fileWrite,
    { path: ETCD_ENV_FILE, content: env, mode: 0o644 },
    { step: `write ${ETCD_ENV_FILE}` },
  );
  const unit = facts.init.systemd ? renderHost(inv, ch.spec.name, 'systemd') : undefined;
  const started = await serviceCall(ch, 'start', unit);
  if (!started.running || (written.changed && !started.changed)) return serviceCall(ch, 'restart', unit);
  return started;
}

/** The data dir the host's env file names (what its etcd last ran with), if any. */
async function envFileDataDir(ch: HostChannel): Promise<string | undefined> {
  const r = await ch.agent.call(routes.fileRead, { path: ETCD_ENV_FILE }, { step: `read ${ETCD_ENV_FILE}` });
  if (!r.exists) return undefined;
  return /^ETCD_DATA_DIR="?([^"\n]+)"?\s*$/m.exec(r.content)?.[1];
}

/**
 * Stops etcd on the host and moves its data dirs aside (`<dir>.removed-<timestamp>`): the given
 * ones and the one its env file names. Only for a host whose member is gone or never started.
 * Returns where each data dir went.
 */
export async function retireHost(ch: HostChannel, dataDirs: string[]): Promise<string[]> {
  await serviceCall(ch, 'stop');
  const fromEnv = await envFileDataDir(ch);
  const dirs = [...new Set([...dataDirs, ...(fromEnv ? [fromEnv] : [])])];
  const moved: string[] = [];
  for (const path of dirs) {
    const r = await ch.agent.call(routes.dataDirMoveAside, { path }, { step: `move ${path} aside` });
    if (r.movedTo) moved.push(r.movedTo);
  }
  return moved;
}
