/** Per host, in parallel: push and install etcd, open the firewall, write the config of members about to start. */
import { routes } from '../../agent/api/index.ts';
import { type EtcdArtifact, remoteTarballPath } from '../artifacts/etcd-tarball.ts';
import { TskvError } from '../errors.ts';
import type { DesiredConfig } from '../ops/config.ts';
import type { DeployPlan, HostPlan } from '../plan/types.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import { forEachHost, type StepReporter } from '../run/tasks.ts';
import { pushTarball, type TarballState } from './etcd-prefetch.ts';
import type { HostChannel, Session } from './session.ts';

export interface PrepareInput {
  plan: DeployPlan;
  desired: Map<string, DesiredConfig>;
  /** The etcd version the inventory asks for. */
  version: string;
  /** Resolved lazily: only when some host installs. */
  artifact: () => Promise<EtcdArtifact>;
  /** Per host, the tarball push started during preflight (see etcd-prefetch.ts). */
  prefetched?: Map<string, Promise<TarballState | undefined>>;
}

/**
 * Pushes the etcd tarball (unless the host's cache already holds these bytes) and installs etcd
 * from it through the agent. Returns the actions taken; `progress` hears each phase.
 */
export async function installEtcd(
  ch: HostChannel,
  artifact: EtcdArtifact,
  version: string,
  progress: (line: string) => void = () => {},
  prefetched?: Promise<TarballState | undefined>,
): Promise<string[]> {
  const early = await prefetched;
  let tarball = typeof early === 'object' ? early : undefined;
  if (!tarball) {
    progress(`pushing ${artifact.fileName}`);
    tarball = await pushTarball(ch, artifact);
  }
  progress(`installing etcd ${version}`);
  const r = await ch.agent.call(
    routes.etcdInstall,
    { tarball: remoteTarballPath(tarball.form), version },
    { step: 'install etcd', timeoutMs: 120_000 },
  );
  return [...(tarball.pushed ? [`uploaded ${tarball.form.fileName}`] : []), ...r.actions];
}

export async function writeEnvFile(ch: HostChannel, desired: DesiredConfig): Promise<string[]> {
  const r = await ch.agent.call(
    routes.fileWrite,
    { path: ETCD_ENV_FILE, content: desired.env, mode: 0o644 },
    { step: `write ${ETCD_ENV_FILE}` },
  );
  return r.actions;
}

/**
 * The host's steps run side by side (they touch different things: /opt/tskv/etcd, the firewall,
 * /etc/etcd); every one finishes before the first failure is thrown. Actions keep the plan's order.
 */
async function prepareHost(
  ch: HostChannel,
  hp: HostPlan,
  input: PrepareInput,
  ports: number[],
  report: StepReporter,
): Promise<string[]> {
  const kinds = new Set(hp.steps.map((s) => s.kind));
  const steps: Promise<string[]>[] = [];
  if (kinds.has('install')) {
    steps.push(
      input
        .artifact()
        .then((artifact) =>
          installEtcd(
            ch,
            artifact,
            input.version,
            (line) => report.output(line),
            input.prefetched?.get(ch.spec.name),
          ),
        ),
    );
  }
  if (kinds.has('firewall')) {
    report.output('opening the firewall');
    steps.push(
      ch.agent.call(routes.firewallOpen, { ports }, { step: 'open firewall' }).then((r) => r.actions),
    );
  }
  // Running members get their new file just before their own restart (one at a time), not now.
  if (kinds.has('config') && kinds.has('start')) {
    report.output(`writing ${ETCD_ENV_FILE}`);
    steps.push(writeEnvFile(ch, input.desired.get(ch.spec.name)!));
  }
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
}

/** Returns each host's actions; throws the first host's failure after every host has finished. */
export async function prepareHosts(session: Session, input: PrepareInput): Promise<Map<string, string[]>> {
  const inv = session.inventory;
  const ports = [inv.cluster.clientPort, inv.cluster.peerPort];
  const work = input.plan.hosts.filter((h) =>
    h.steps.some(
      (s) =>
        s.kind === 'install' ||
        s.kind === 'firewall' ||
        (s.kind === 'config' && h.steps.some((x) => x.kind === 'start')),
    ),
  );
  const outcomes = await forEachHost(
    'install etcd, open the firewall, write configuration',
    work.map((h) => h.host),
    (name, report) =>
      prepareHost(session.hosts.get(name)!, work.find((h) => h.host === name)!, input, ports, report),
    session.mode,
  );
  const actions = new Map<string, string[]>();
  for (const [name, o] of outcomes) {
    if (o.ok) actions.set(name, o.value);
    else
      throw o.error instanceof TskvError
        ? o.error
        : new TskvError('E_PREPARE', 'preparing the host failed', {
            host: name,
            step: 'prepare',
            cause: o.error,
          });
  }
  return actions;
}
