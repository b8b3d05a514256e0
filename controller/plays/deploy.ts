/**
 * `tskv deploy` as one workflow: preflight (every host passes before anything changes) → read each
 * host's state and the live member list → plan → (dry run stops here) → confirm restarts → clock →
 * install/firewall/config → start (bootstrap: all together) → rolling restarts → verify.
 */
import { spawnSync } from 'node:child_process';
import { resolveEtcdArtifact } from '../artifacts/etcd-repack.ts';
import type { EtcdArtifact } from '../artifacts/etcd-tarball.ts';
import { describeCause, TskvError } from '../errors.ts';
import { EtcdTunnels } from '../etcd-tunnel.ts';
import type { CheckResult } from '../ops/checks.ts';
import { decideClusterMode } from '../ops/cluster-mode.ts';
import { planDeploy } from '../ops/deploy-plan.ts';
import { formatSummary } from '../plan/print.ts';
import { type DeployPlan, isNoop } from '../plan/types.ts';
import { fixClocks } from './deploy-clock.ts';
import { gatherDeploy } from './deploy-gather.ts';
import { prepareHosts } from './deploy-prepare.ts';
import { rollingRestart, startMembers } from './deploy-start.ts';
import { type VerifyReport, verifyCluster } from './deploy-verify.ts';
import { prefetchEtcd } from './etcd-prefetch.ts';
import { runPreflight } from './preflight.ts';
import type { Session } from './session.ts';

export interface DeployOptions {
  dryRun: boolean;
  allowSkew: boolean;
  stepClock: boolean;
  allowExistingData: boolean;
  /** Asked when the plan restarts running members; false stops before any change. */
  confirmRestarts: (plan: DeployPlan) => Promise<boolean>;
  /** Prints the plan (before anything changes). */
  showPlan: (plan: DeployPlan) => void;
  log: (line: string) => void;
  cacheDir?: string;
}

export interface DeployError {
  code: string;
  host: string | undefined;
  step: string | undefined;
  message: string;
  fix: string | undefined;
}

/** The one result document (`--json`). */
export interface DeployResult {
  ok: boolean;
  dryRun: boolean;
  inventory: string;
  /** Failed preflight checks deploy could not fix, and warnings. */
  preflight: CheckResult[];
  plan: DeployPlan | undefined;
  summary: string;
  /** What each host's agent reports it did. */
  actions: Record<string, string[]>;
  started: string[];
  restarted: string[];
  verify: VerifyReport | undefined;
  error: DeployError | undefined;
}

export function toDeployError(err: unknown): DeployError {
  if (err instanceof TskvError) {
    return { code: err.code, host: err.host, step: err.step, message: describeCause(err), fix: err.fix };
  }
  return {
    code: 'E_INTERNAL',
    host: undefined,
    step: undefined,
    message: describeCause(err),
    fix: undefined,
  };
}

/**
 * Test hook: TSKV_TEST_HOOK="<phase>:<shell command>" runs the command on the controller when deploy
 * reaches that phase (after-preflight, after-prepare), e.g. to cut a host off mid-deploy.
 */
function testHook(phase: 'after-preflight' | 'after-prepare'): void {
  const hook = process.env.TSKV_TEST_HOOK;
  if (hook?.startsWith(`${phase}:`))
    spawnSync('/bin/sh', ['-c', hook.slice(phase.length + 1)], { stdio: 'ignore' });
}

function blocking(checks: CheckResult[]): CheckResult[] {
  // Closed ports are deploy's to open; skew is deploy's to fix (or to refuse with its own message).
  return checks.filter((c) => c.status === 'fail' && !c.fixedByDeploy && c.check !== 'clock');
}

export async function runDeploy(session: Session, options: DeployOptions): Promise<DeployResult> {
  const inv = session.inventory;
  const result: DeployResult = {
    ok: false,
    dryRun: options.dryRun,
    inventory: inv.file,
    preflight: [],
    plan: undefined,
    summary: '',
    actions: {},
    started: [],
    restarted: [],
    verify: undefined,
    error: undefined,
  };
  const tunnels = new EtcdTunnels(inv);
  let tarball: Promise<EtcdArtifact> | undefined;
  const artifact = () => {
    tarball ??= resolveEtcdArtifact(inv.etcd, options.cacheDir);
    return tarball;
  };
  // A dry run sends nothing; a real one pushes the tarball while preflight runs (etcd-prefetch.ts).
  const prefetched = options.dryRun
    ? undefined
    : prefetchEtcd(session.hosts.values(), inv.etcd.version, artifact);
  try {
    const pre = await runPreflight(session, { allowExistingData: options.allowExistingData });
    result.preflight = pre.checks.filter((c) => c.status !== 'ok');
    const stop = blocking(pre.checks);
    if (stop.length > 0) {
      throw new TskvError(
        'E_PREFLIGHT',
        `preflight failed on ${[...new Set(stop.map((c) => c.host))].join(', ')}; nothing was changed:\n${stop.map((c) => `  ${c.host} ${c.check}: ${c.observed}`).join('\n')}`,
        { step: 'preflight', ...(stop[0]?.fix ? { fix: stop[0].fix } : {}) },
      );
    }
    testHook('after-preflight');
    const gathered = await gatherDeploy(session, pre, tunnels);
    const decision = decideClusterMode(inv, gathered.runtimes, gathered.members, {
      allowExistingData: options.allowExistingData,
    });
    const { plan, desired } = planDeploy({ inv, hosts: gathered.hosts, decision, leader: gathered.leader });
    result.plan = plan;
    result.summary = formatSummary(plan);
    options.showPlan(plan);
    if (options.dryRun) {
      result.ok = true;
      return result;
    }
    if (!isNoop(plan)) {
      if (plan.restarts.length > 0 && !(await options.confirmRestarts(plan))) {
        throw new TskvError(
          'E_NOT_CONFIRMED',
          `not restarting ${plan.restarts.join(', ')}: not confirmed; nothing was changed`,
          {
            step: 'confirm',
            fix: 'answer yes, or pass --yes',
          },
        );
      }
      const skewed = plan.hosts.filter((h) => h.steps.some((s) => s.kind === 'clock')).map((h) => h.host);
      if (skewed.length > 0) {
        const fixed = await fixClocks(session, skewed, options);
        for (const [h, a] of fixed) result.actions[h] = [...(result.actions[h] ?? []), ...a];
      }
      const prepared = await prepareHosts(session, {
        plan,
        desired,
        version: inv.etcd.version,
        artifact,
        ...(prefetched ? { prefetched } : {}),
      });
      for (const [h, a] of prepared) result.actions[h] = [...(result.actions[h] ?? []), ...a];
      testHook('after-prepare');
      result.started = await startMembers(session, { plan, desired, tunnels });
      result.restarted = await rollingRestart(session, { plan, desired, tunnels });
    }
    result.verify = await verifyCluster(session, tunnels);
    result.ok = true;
  } catch (err) {
    result.error = toDeployError(err);
  } finally {
    // A failed preflight must not leave a push running when the connections close.
    if (prefetched) await Promise.all(prefetched.values());
    await tunnels.close();
  }
  return result;
}
