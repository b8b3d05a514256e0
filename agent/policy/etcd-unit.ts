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
 * or starts, stops or replaces another unit (OnFailure=, Conflicts=, Alias=).
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
    User: any,
    Group: any,
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

/**
 * Why `text` is not a unit the agent installs for etcd, or undefined: [Unit], [Service] and
 * [Install] with only the settings above (one ExecStart=, starting tskv's etcd), no continued
 * lines, no control character but tab.
 */
export function etcdUnitProblem(text: string, layout: HostLayout): string | undefined {
  let section: string | undefined;
  let execStarts = 0;
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
    if (key === 'ExecStart') execStarts++;
  }
  if (execStarts !== 1) return `has ${execStarts} ExecStart= lines, not one`;
  return undefined;
}
