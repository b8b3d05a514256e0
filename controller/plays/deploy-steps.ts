/** How each of deploy's steps runs on its host (ops/deploy-plan.ts plans them, the runner orders them). */
import type { EtcdArtifact } from '../artifacts/etcd-tarball.ts';
import type { DeployStep } from '../ops/deploy-plan.ts';
import { memberAt } from '../ops/membership.ts';
import type { Executor } from '../run/runner.ts';
import { type ClockOptions, type ClockSyncs, checkClocksAgree, syncClock } from './clock-sync.ts';
import type { TarballState } from './etcd-prefetch.ts';
import { openFirewall } from './firewall.ts';
import { installEtcd, serviceCall, writeEnvFile, writeTlsFiles } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { checkOthersHealthy, waitMemberHealthy } from './member-health.ts';

export interface DeployContext {
  live: LiveCluster;
  clock: ClockOptions;
  /** Resolved lazily: only when some host installs. */
  artifact: () => Promise<EtcdArtifact>;
  /** Per host, the tarball push started during preflight (see etcd-prefetch.ts). */
  prefetched?: Map<string, Promise<TarballState | undefined>>;
}

export function deployExecutor(ctx: DeployContext): Executor<DeployStep> {
  const { live } = ctx;
  const syncs: ClockSyncs = new Map();
  return async (step, progress) => {
    if (step.kind === 'clock-check') return checkClocksAgree(live.session, ctx.clock, syncs);
    const ch = live.channel(step.host);
    switch (step.kind) {
      case 'clock':
        return syncClock(ch, live.session, ctx.clock, syncs);
      case 'install':
        return installEtcd(ch, ctx.artifact, step.version, progress, ctx.prefetched?.get(step.host));
      case 'firewall':
        return openFirewall(ch, step.request);
      case 'config':
        return (await writeEnvFile(ch, step.env)).actions;
      case 'unit':
        return (await serviceCall(ch, 'install', step.unit)).actions;
      case 'tls':
        return writeTlsFiles(ch, live.session.inventory, step.paths);
      case 'start': {
        const started = await serviceCall(ch, 'start');
        progress(`started (pid ${started.pid ?? '?'}), waiting until healthy`);
        await waitMemberHealthy(ch, live.tunnels.endpoint(ch.conn), started, 'start etcd');
        return started.actions;
      }
      case 'restart': {
        progress('checking the other members');
        const inv = live.session.inventory;
        const self = memberAt(inv, (await live.memberList()).members, ch.spec);
        await checkOthersHealthy(live, self?.id, `restarting ${step.host}`);
        const restarted = await serviceCall(ch, 'restart');
        progress(`restarted (pid ${restarted.pid ?? '?'}), waiting until healthy`);
        await waitMemberHealthy(ch, live.tunnels.endpoint(ch.conn), restarted, 'restart etcd');
        return restarted.actions;
      }
    }
  };
}
