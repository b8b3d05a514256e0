import { ETCD_GROUP, ETCD_USER, pathProblem } from '../api/index.ts';
import { ownedDirProblem } from './data-dir.ts';
import { checkEtcdBinary } from './etcd.ts';
import { etcdBinary, type HostLayout } from './layout.ts';

/** Why a value is not allowed for a setting, or undefined. */
type ValueRule = (value: string, layout: HostLayout) => string | undefined;

const any: ValueRule = () => undefined;
const oneOf =
  (...allowed: string[]): ValueRule =>
  (value) =>
    allowed.includes(value) ? undefined : `must be ${allowed.join(' or ')}`;
/** Units that only order or pull in the network and the clock: nothing else starts with etcd. */
const targets = oneOf('network.target', 'network-online.target', 'time-sync.target', 'nss-lookup.target');
const wordsOf =
  (rule: ValueRule): ValueRule =>
  (value, layout) => {
    for (const word of value.split(/\s+/).filter(Boolean)) {
      const problem = rule(word, layout);
      if (problem) return `${word} ${problem}`;
    }
    return undefined;
  };

/** A hardening setting: only its hardening value (turning it off is no setting of tskv's). */
const yes = oneOf('yes', 'true');
/** A set of names, each one of `allowed` (a subset of what tskv renders). */
const namesOf = (...allowed: string[]): ValueRule =>
  wordsOf((word) => (allowed.includes(word) ? undefined : `is not one of ${allowed.join(' ')}`));

/**
 * The words of a systemd path list as systemd reads them (plain, or "quoted" with \\ and \"
 * escapes, %% for %), or why not: no prefix (- + :), no other %-specifier or escape.
 */
export function unitPathWords(value: string): string[] | string {
  const words: string[] = [];
  const token = /\s*(?:"((?:[^"\\]|\\["\\])*)"|([^\s"'\\]+))(?=\s|$)/y;
  let at = 0;
  while (value.slice(at).trim() !== '') {
    token.lastIndex = at;
    const m = token.exec(value);
    if (!m) return `is not a list of paths (plain or "quoted"): ${value.slice(at).trim()}`;
    at = token.lastIndex;
    const raw = m[1] !== undefined ? m[1].replace(/\\(["\\])/g, '$1') : (m[2] ?? '');
    if (raw.replaceAll('%%', '').includes('%')) return `${raw} has a %-specifier (write %% for %)`;
    words.push(raw.replaceAll('%%', '%'));
  }
  return words;
}

/** ReadWritePaths=: only folders the etcd user may own (policy/data-dir.ts), absolute, normalised. */
const etcdDirs: ValueRule = (value, layout) => {
  const words = unitPathWords(value);
  if (typeof words === 'string') return words;
  if (words.length === 0) return 'names no folder';
  for (const path of words) {
    const problem = pathProblem(path) ?? ownedDirProblem(path, layout);
    if (problem)
      return `${path}: ${problem.startsWith(path) ? problem.slice(path.length + 1) : problem} (only etcd's data and WAL dirs)`;
  }
  return undefined;
};

const execStart: ValueRule = (value, layout) => {
  const program = value.split(/\s+/)[0] ?? '';
  try {
    checkEtcdBinary(layout, program);
    return undefined;
  } catch {
    return `must start ${etcdBinary(layout)} or ${layout.installRoot}/v<version>/etcd (no prefix such as + or -), not ${program}`;
  }
};

/**
 * The settings an etcd unit may have, by section. Nothing that runs another program (ExecStartPre=,
 * ...), changes what etcd's path names (RootDirectory=, BindPaths=, ...), passes variables other
 * than the env file's (Environment=, which can set LD_PRELOAD), writes files (StandardOutput=file:),
 * or starts, stops or replaces another unit (OnFailure=, Conflicts=, Alias=). etcd runs as the etcd
 * user (User= and Group= required, nothing else); the sandbox settings take only their hardening
 * values, ReadWritePaths= only folders etcd may own, capabilities only CAP_NET_BIND_SERVICE.
 */
const ALLOWED: Record<string, Record<string, ValueRule>> = {
  Unit: {
    Description: any,
    Documentation: any,
    After: any,
    Before: any,
    Wants: wordsOf(targets),
    Requires: wordsOf(targets),
    StartLimitIntervalSec: any,
    StartLimitBurst: any,
  },
  Service: {
    Type: oneOf('notify', 'simple', 'exec'),
    EnvironmentFile: (value, layout) => (value === layout.envFile ? undefined : `must be ${layout.envFile}`),
    ExecStart: execStart,
    User: oneOf(ETCD_USER),
    Group: oneOf(ETCD_GROUP),
    NoNewPrivileges: yes,
    ProtectSystem: oneOf('strict', 'full'),
    ReadWritePaths: etcdDirs,
    ProtectHome: oneOf('yes', 'true', 'read-only', 'tmpfs'),
    PrivateTmp: yes,
    PrivateDevices: yes,
    ProtectKernelTunables: yes,
    ProtectKernelModules: yes,
    ProtectControlGroups: yes,
    RestrictAddressFamilies: namesOf('AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK'),
    RestrictNamespaces: yes,
    RestrictSUIDSGID: yes,
    LockPersonality: yes,
    CapabilityBoundingSet: namesOf('CAP_NET_BIND_SERVICE'),
    AmbientCapabilities: namesOf('CAP_NET_BIND_SERVICE'),
    Restart: any,
    RestartSec: any,
    RestartPreventExitStatus: any,
    SuccessExitStatus: any,
    TimeoutSec: any,
    TimeoutStartSec: any,
    TimeoutStopSec: any,
    KillSignal: any,
    LimitNOFILE: any,
    LimitNPROC: any,
    LimitMEMLOCK: any,
    LimitCORE: any,
    Nice: any,
    OOMScoreAdjust: any,
    IOSchedulingClass: any,
    IOSchedulingPriority: any,
    CPUWeight: any,
    CPUQuota: any,
    IOWeight: any,
    MemoryHigh: any,
    MemoryMax: any,
    TasksMax: any,
  },
  Install: {
    WantedBy: wordsOf((word) => (/^[A-Za-z0-9_.:-]+\.target$/.test(word) ? undefined : 'is not a target')),
  },
};

/** Settings a unit must have exactly once: one program, run as the etcd user. */
const ONCE = ['ExecStart', 'User', 'Group'] as const;

/**
 * Why `text` is not a unit the agent installs for etcd, or undefined: [Unit], [Service] and
 * [Install] with only the settings above (one ExecStart=, starting tskv's etcd; one User=etcd and
 * one Group=etcd), no continued lines, no control character but tab.
 */
export function etcdUnitProblem(text: string, layout: HostLayout): string | undefined {
  let section: string | undefined;
  const counts = new Map<string, number>();
  for (const [i, raw] of text.split('\n').entries()) {
    const where = `line ${i + 1}`;
    // Every character below a space but tab is a control character (systemd ends a line at \r).
    if ([...raw].some((c) => (c < ' ' && c !== '\t') || c === '\u007f'))
      return `${where} has a control character`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.endsWith('\\')) return `${where} continues on the next line (a trailing backslash)`;
    const header = /^\[([^\]]*)\]$/.exec(line);
    if (header) {
      section = header[1] ?? '';
      if (!ALLOWED[section]) return `${where}: no [${section}] section (only [Unit], [Service], [Install])`;
      continue;
    }
    const setting = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
    if (!setting) return `${where} is not a [Section] or Key=value line`;
    if (section === undefined) return `${where} is outside a section`;
    const [, key = '', value = ''] = setting;
    const rules = ALLOWED[section] ?? {};
    const rule = rules[key];
    if (!rule)
      return `${where}: ${key}= is not allowed in [${section}] (only ${Object.keys(rules).join(', ')})`;
    const problem = rule(value, layout);
    if (problem) return `${where}: ${key}= ${problem}`;
    if (section === 'Service') counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const key of ONCE) {
    const n = counts.get(key) ?? 0;
    if (n !== 1) return `has ${n} ${key}= lines, not one`;
  }
  return undefined;
}
