/** Preflight verdicts from what the agents observed. Pure: no I/O, so every rule has a unit test. */
import type {
  FactsResponse,
  FirewallPortState,
  FirewallStateResponse,
  PortsResponse,
  ProbeConnectResponse,
} from '../../agent/api/index.ts';
import { ETCD_USER } from '../../agent/api/index.ts';
import type { CheckResult } from './checks.ts';
import { type ClockOffset, formatOffset, judgeSkew, SKEW_FAIL_MS } from './clock-skew.ts';

export const SUPPORTED_ARCHS = ['x64', 'arm64'];
export const SUPPORTED_OS = [
  'debian',
  'ubuntu',
  'centos',
  'rhel',
  'rocky',
  'almalinux',
  'fedora',
  'ol',
  'amzn',
];
export const DISK_FAIL_BYTES = 1024 ** 3;
export const DISK_WARN_BYTES = 4 * 1024 ** 3;

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

export function hostChecks(host: string, facts: FactsResponse, dataDir: string): CheckResult[] {
  const out: CheckResult[] = [];
  const sys = `${facts.os.prettyName || facts.os.id} ${facts.arch}, init ${facts.init.systemd ? 'systemd' : `${facts.init.pid1} (tskv supervises etcd)`}`;
  if (!SUPPORTED_ARCHS.includes(facts.arch)) {
    out.push({
      host,
      check: 'os',
      status: 'fail',
      observed: `architecture ${facts.arch} is not supported`,
      fix: `use an ${SUPPORTED_ARCHS.join(' or ')} host`,
    });
  } else if (!SUPPORTED_OS.includes(facts.os.id)) {
    out.push({
      host,
      check: 'os',
      status: 'warn',
      observed: `${sys}: untested OS '${facts.os.id}'`,
      fix: 'expect to verify firewall and service handling by hand',
    });
  } else {
    out.push({ host, check: 'os', status: 'ok', observed: sys });
  }
  const d = facts.disk;
  const disk = `${gib(d.freeBytes)} free at ${d.measuredAt} (for ${dataDir})`;
  if (d.freeBytes < DISK_FAIL_BYTES) {
    out.push({
      host,
      check: 'disk',
      status: 'fail',
      observed: disk,
      fix: `free space under ${d.measuredAt} (at least ${gib(DISK_FAIL_BYTES)}) or move etcd.dataDir`,
    });
  } else if (d.freeBytes < DISK_WARN_BYTES) {
    out.push({
      host,
      check: 'disk',
      status: 'warn',
      observed: disk,
      fix: `etcd's default quota is 2 GiB; keep ${gib(DISK_WARN_BYTES)} free`,
    });
  } else {
    out.push({ host, check: 'disk', status: 'ok', observed: disk });
  }
  return out;
}

/**
 * A port is fine when free, or when the process holding it is this host's etcd; below 1024 only on
 * systemd hosts, whose unit gives etcd CAP_NET_BIND_SERVICE (the supervisor has no way to).
 */
export function portChecks(host: string, ports: PortsResponse, facts: FactsResponse): CheckResult[] {
  const etcdPids = new Set(facts.etcd.running.map((p) => p.pid));
  return ports.ports.map((p): CheckResult => {
    const setting = `cluster.${p.port === 2380 ? 'peerPort' : 'clientPort'}`;
    if (p.port < 1024 && !facts.init.systemd) {
      return {
        host,
        check: 'ports',
        status: 'fail',
        observed: `${p.port}/tcp is below 1024: without systemd etcd runs as ${ETCD_USER} under tskv's supervisor, which cannot let it bind such a port`,
        fix: `choose a ${setting} of 1024 or more in the inventory, or run etcd on a systemd host`,
      };
    }
    if (!p.inUse) return { host, check: 'ports', status: 'ok', observed: `${p.port}/tcp free` };
    const holders = p.listeners.map(
      (l) => `${l.command ?? '?'}${l.pid ? ` (pid ${l.pid})` : ''} on ${l.address}`,
    );
    if (p.listeners.every((l) => l.pid !== null && etcdPids.has(l.pid))) {
      return { host, check: 'ports', status: 'ok', observed: `${p.port}/tcp held by etcd` };
    }
    return {
      host,
      check: 'ports',
      status: 'fail',
      observed: `${p.port}/tcp in use by ${[...new Set(holders)].join(', ')}`,
      fix: `stop that process or choose another ${setting} in the inventory`,
    };
  });
}

/**
 * A port TLS narrows to some sources (ops/firewall-plan.ts): a source not let in fails (deploy
 * adds its rule); the port still open to everyone, or rules for sources that are no longer
 * members, are warnings deploy fixes; an opening tskv leaves alone (a service, a range) is a
 * warning for the operator: while it stays, the narrowing does nothing.
 */
function restrictedPortCheck(host: string, p: FirewallPortState, where: string): CheckResult {
  const port = `${p.port}/${p.protocol}`;
  const s = p.sources!;
  const check = { host, check: 'firewall' };
  if (p.open !== true) {
    return {
      ...check,
      status: 'fail',
      observed: `${port} does not let in ${s.missing.join(', ')} (${where})`,
      fix: 'tskv deploy adds their rules',
      fixedByDeploy: true,
    };
  }
  if (s.wider) {
    return {
      ...check,
      status: 'warn',
      observed: `${port} is open to every source through what tskv leaves alone: ${s.wider}`,
      fix: `remove that opening: tskv lets ${port} in only from its sources`,
    };
  }
  const extra = [
    ...(s.openToAll ? ['open to the whole zone'] : []),
    ...(s.stale.length > 0 ? [`also let in from ${s.stale.join(', ')}, not members or client sources`] : []),
    ...(!s.openToAll && (s.missing.length > 0 || p.permanent === false)
      ? [`a reload or reboot would shut out ${s.missing.length ? s.missing.join(', ') : 'some of them'}`]
      : []),
  ];
  if (extra.length > 0) {
    return {
      ...check,
      status: 'warn',
      observed: `${port} ${extra.join('; ')} (${where})`,
      fix: `tskv deploy narrows ${port} to its sources`,
      fixedByDeploy: true,
    };
  }
  return { ...check, status: 'ok', observed: `${port} ${p.detail}` };
}

export function firewallChecks(host: string, fw: FirewallStateResponse): CheckResult[] {
  const where = fw.backend === 'firewalld' ? `firewalld zone ${fw.zone ?? '?'}` : fw.backend;
  if (fw.backend === 'none') return [{ host, check: 'firewall', status: 'ok', observed: 'no host firewall' }];
  return fw.ports.map((p): CheckResult => {
    if (p.sources) return restrictedPortCheck(host, p, where);
    const port = `${p.port}/${p.protocol}`;
    if (p.open === true && p.permanent === false) {
      return {
        host,
        check: 'firewall',
        status: 'warn',
        observed: `${port} open now but not in the permanent configuration (${where}): a reload or reboot closes it`,
        fix: `tskv deploy makes it permanent, or: firewall-cmd --permanent --add-port=${port}`,
        fixedByDeploy: true,
      };
    }
    if (p.open === true)
      return { host, check: 'firewall', status: 'ok', observed: `${port} open (${where})` };
    return {
      host,
      check: 'firewall',
      status: 'fail',
      observed: `${port} ${p.open === false ? 'blocked' : 'state unknown'} (${p.detail.includes(where) ? p.detail : `${where}: ${p.detail}`})`,
      fix:
        fw.backend === 'firewalld'
          ? `tskv deploy opens it, or: firewall-cmd --add-port=${port} && firewall-cmd --permanent --add-port=${port}`
          : `tskv deploy opens it, or allow ${port} in ${fw.backend}`,
      fixedByDeploy: true,
    };
  });
}

export interface ReachProbe {
  from: string;
  to: string;
  port: number;
  result: ProbeConnectResponse;
  /** The target's firewall verdict on that port, to say which hop blocks it. */
  targetFirewall: FirewallStateResponse | undefined;
}

export function reachabilityChecks(probes: ReachProbe[]): CheckResult[] {
  return probes.map((p): CheckResult => {
    const hop = `${p.from} → ${p.to}:${p.port}`;
    if (p.result.outcome === 'ok')
      return { host: p.from, check: 'reachability', status: 'ok', observed: `${hop} open` };
    const fw = p.targetFirewall;
    const portState = fw?.ports.find((x) => x.port === p.port);
    const blockedBy =
      fw && fw.backend !== 'none' && portState?.open !== true
        ? ` (${fw.backend === 'firewalld' ? `firewalld zone ${fw.zone ?? '?'}` : fw.backend})`
        : '';
    const what = blockedBy ? 'blocked' : p.result.outcome;
    return {
      host: p.from,
      check: 'reachability',
      status: 'fail',
      observed: `${hop} ${what}${blockedBy}${blockedBy ? '' : ` (${p.result.errno ?? p.result.message ?? 'no detail'})`}`,
      fix: blockedBy
        ? `open ${p.port}/tcp on ${p.to} (tskv deploy does)`
        : `check the network path from ${p.from} to ${p.to}`,
      fixedByDeploy: blockedBy !== '',
    };
  });
}

export function clockChecks(offsets: Map<string, ClockOffset>): CheckResult[] {
  const verdict = judgeSkew(offsets);
  const all = [...offsets.entries()].map(([h, o]) => `${h} ${formatOffset(o)}`).join(', ');
  const results: CheckResult[] = [];
  for (const [host, o] of offsets) {
    const isOutlier = verdict.status !== 'ok' && host === verdict.outlier;
    results.push({
      host,
      check: 'clock',
      status: isOutlier ? verdict.status : 'ok',
      observed: isOutlier
        ? `offset ${formatOffset(o)}; largest skew ${(verdict.maxSkewMs / 1000).toFixed(3)}s between ${verdict.pair?.join(' and ')} (etcd warns above ${SKEW_FAIL_MS / 1000}s; offsets to the controller: ${all})`
        : `offset ${formatOffset(o)}`,
      ...(isOutlier
        ? { fix: `sync ${host}'s clock (chrony/timesyncd/ntp), or tskv deploy --step-clock` }
        : {}),
    });
  }
  return results;
}

/** Existing member data where a new cluster would be bootstrapped: how clusters get destroyed. */
export function dataDirChecks(host: string, facts: FactsResponse, bootstrappingNew: boolean): CheckResult[] {
  const dd = facts.etcd.dataDir;
  if (!dd.hasData)
    return [
      { host, check: 'data-dir', status: 'ok', observed: `${dd.path} ${dd.exists ? 'empty' : 'absent'}` },
    ];
  if (!bootstrappingNew)
    return [
      { host, check: 'data-dir', status: 'ok', observed: `${dd.path} holds this cluster's member data` },
    ];
  return [
    {
      host,
      check: 'data-dir',
      status: 'fail',
      observed: `${dd.path} already holds etcd member data and no cluster is running`,
      fix: `if it is this cluster's data (all members stopped), re-run with --allow-existing-data to restart from it; otherwise move ${dd.path} aside`,
    },
  ];
}

/**
 * The account etcd runs as: there and a system account, or missing (deploy creates it). One that
 * exists but cannot run etcd (uid 0, an ordinary user's) fails here, before anything changes.
 */
export function accountChecks(host: string, facts: FactsResponse): CheckResult[] {
  const account = facts.etcd.account;
  if (account === null) {
    return [
      {
        host,
        check: 'account',
        status: 'ok',
        observed: `no ${ETCD_USER} account yet: deploy creates it (system account, no login)`,
      },
    ];
  }
  if (account.problem) {
    return [
      {
        host,
        check: 'account',
        status: 'fail',
        observed: account.problem,
        fix: `etcd runs as the system user ${ETCD_USER}: remove or fix that account on ${host}, then re-run`,
      },
    ];
  }
  return [
    { host, check: 'account', status: 'ok', observed: `etcd runs as ${ETCD_USER} (uid ${account.uid})` },
  ];
}
