/**
 * How deploy's membership steps run (ops/scale-plan.ts plans them): a joining host is added as a
 * learner, started, waited for and promoted with the membership steps replace and member add run
 * (replace-steps.ts), and a leaving member is removed the same way; its host, which the inventory
 * no longer names, is reached over SSH at its peer address and retired (etcd stopped, data dir
 * moved aside), or reported as not cleaned when it cannot be reached. Each leaving member is
 * recorded in etcd (LEAVING_KEY) from just before its removal until its host is retired, so a
 * re-run after a kill in between still retires the host.
 */
import { describeCause, TskvError } from '../errors.ts';
import type { HostSpec } from '../inventory/model.ts';
import { dataDirOf } from '../inventory/normalise.ts';
import type { ReplaceStep } from '../ops/replace-plan.ts';
import {
  checkRemovalNow,
  LEAVING_KEY,
  type LeavingRecord,
  leavingRecordSchema,
  peerAddress,
  type ScaleStep,
} from '../ops/scale-plan.ts';
import { Journal } from '../run/journal.ts';
import type { Progress } from '../run/progress.ts';
import { clusterExposure, openFirewall, openRequest } from './firewall.ts';
import { retireHost } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { membershipExecutor } from './replace-steps.ts';
import { openChannel } from './session.ts';

export type ScaleExecutor = (step: ScaleStep, progress: Progress) => Promise<string[] | undefined>;

/** `notCleaned` collects the leaving hosts that could not be reached to retire them. */
export function scaleExecutor(live: LiveCluster, notCleaned: string[]): ScaleExecutor {
  const membership = membershipExecutor(live);
  const run = async (step: ReplaceStep, progress: Progress) =>
    (await membership(step, progress)) ?? undefined;
  return async (step, progress) => {
    const { host, title } = step;
    switch (step.kind) {
      case 'member-add':
        return run({ kind: 'add-member', host, peerURLs: step.peerURLs, learner: true, title }, progress);
      case 'member-start':
        return run({ kind: 'start-member', host, title }, progress);
      case 'member-caught-up':
        return run({ kind: 'wait-caught-up', host, title }, progress);
      case 'member-promote': {
        await run({ kind: 'promote', host, title }, progress);
        // The next change wants every voter connected (etcd's strict reconfiguration check).
        await run({ kind: 'wait-healthy', host, title }, progress);
        return [`promoted ${host} to a voting member`];
      }
      case 'member-let-in':
        return letJoinersIn(live, step, progress);
      case 'member-lead-away':
        return run({ kind: 'move-leader-away', id: step.id, name: host, title }, progress);
      case 'member-remove':
        // The adds and restarts before it may have changed who is healthy since the plan.
        progress('checking the other members');
        checkRemovalNow(await live.view(), step.id, host);
        // Recorded first: a run killed between the removal and the retirement leaves the host to the re-run.
        await updateRecord(live, (r) => [
          ...r.filter((x) => x.name !== host),
          { name: host, address: step.address, dataDirs: step.dataDirs },
        ]);
        await run({ kind: 'remove-member', id: step.id, name: host, title }, progress);
        return [`removed ${host} from the cluster`];
      case 'member-retire': {
        const said = await retire(live, step, notCleaned, progress);
        await updateRecord(live, (r) => r.filter((x) => x.name !== host));
        return said;
      }
    }
  };
}

/** Rewrites the record of leaving members (LEAVING_KEY); cleared when it becomes empty. */
async function updateRecord(live: LiveCluster, change: (r: LeavingRecord) => LeavingRecord): Promise<void> {
  const journal = new Journal(() => live.cluster(), LEAVING_KEY);
  const next = change((await journal.read(leavingRecordSchema)) ?? []);
  if (next.length > 0) await journal.write(next);
  else await journal.clear();
}

/**
 * A leaving member's host, which the inventory no longer names, at the member's peer address: the
 * inventory's top-level SSH settings and ssh_config for that address (another host's own
 * settings, e.g. its ssh_config HostName, would reach that other host).
 */
function openLeavingHost(live: LiveCluster, name: string, address: string) {
  const inv = live.session.inventory;
  const dataDirTemplate = inv.hosts[0]!.dataDirTemplate;
  const spec: HostSpec = {
    name,
    address,
    ssh: inv.sshOfUnlisted(name, address),
    dataDir: dataDirOf(dataDirTemplate, name),
    dataDirTemplate,
  };
  return openChannel(spec);
}

async function letJoinersIn(
  live: LiveCluster,
  step: Extract<ScaleStep, { kind: 'member-let-in' }>,
  progress: Progress,
): Promise<string[]> {
  const inv = live.session.inventory;
  const { members } = await live.memberList();
  const request = openRequest(await clusterExposure(inv, members));
  const byHand = (err: unknown) =>
    `warning: could not let the joining hosts in on ${step.host} at ${step.address} (${describeCause(err)}): open its peer port to them by hand, or etcd may refuse membership changes asked of it as "unhealthy cluster"`;
  if (!step.address) return [byHand(new Error('its peer URL has no address'))];
  progress(`connecting to ${step.address}`);
  let opened: Awaited<ReturnType<typeof openChannel>>;
  try {
    opened = await openLeavingHost(live, step.host, step.address);
  } catch (err) {
    return [byHand(err)];
  }
  try {
    return (await openFirewall(opened.ch, request)).map((a) => `${step.host}: ${a}`);
  } catch (err) {
    // The adds do not depend on it: a member asked that is not connected to all refuses, and
    // the next one is asked (etcd/cluster.ts).
    return [byHand(err)];
  } finally {
    await opened.close();
  }
}

async function retire(
  live: LiveCluster,
  step: Extract<ScaleStep, { kind: 'member-retire' }>,
  notCleaned: string[],
  progress: Progress,
): Promise<string[]> {
  const still = (await live.memberList()).members.find(
    (m) => m.name === step.host && peerAddress(m) === step.address,
  );
  if (still) {
    throw new TskvError('E_LIVE_MEMBER', `not touching ${step.host}: it is still a member (${still.idHex})`, {
      host: step.host,
      step: 'retire host',
      fix: 're-run deploy: it removes the member first',
    });
  }
  progress(`connecting to ${step.address}`);
  let opened: Awaited<ReturnType<typeof openChannel>>;
  try {
    opened = await openLeavingHost(live, step.host, step.address);
  } catch (err) {
    notCleaned.push(step.host);
    return [
      `warning: ${step.host} left the cluster but its host was not cleaned (${describeCause(err)}): stop etcd at ${step.address} and move ${step.dataDirs.join(', ')} aside by hand`,
    ];
  }
  try {
    const moved = await retireHost(opened.ch, step.dataDirs, { member: step.host });
    return ['etcd stopped', ...moved.map((to) => `data dir moved aside to ${to}`)];
  } finally {
    await opened.close();
  }
}
