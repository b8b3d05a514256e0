import { CHRONY_SOURCES_DIR, NTP_CONFIGS, TIMESYNCD_DROPIN } from '../api/index.ts';
import { pathExists, readCurrentFile } from './atomic-file.ts';
import { command, type RunCommand, type Step, write } from './steps.ts';

export type TimeServiceName = 'chrony' | 'systemd-timesyncd' | 'ntpd' | 'none';

export interface TimeService {
  service: TimeServiceName;
  /** chrony: `chronyc tracking`; timesyncd: `timedatectl show`; ntpd: `ntpq -pn`. */
  report: string;
}

/** Which time service runs here: chrony (chronyd answers), else timesyncd (timedatectl can NTP), else ntpd. */
export async function detectTimeService(run: RunCommand): Promise<TimeService> {
  const [chrony, timedated, ntpq] = await Promise.all([
    run('chronyc', ['-n', 'tracking'], 5_000),
    run('timedatectl', ['show'], 5_000),
    run('ntpq', ['-pn'], 5_000),
  ]);
  if (chrony.code === 0) return { service: 'chrony', report: chrony.stdout };
  if (timedated.code === 0 && /^CanNTP=yes$/m.test(timedated.stdout)) {
    return { service: 'systemd-timesyncd', report: timedated.stdout };
  }
  if (ntpq.code === 0) return { service: 'ntpd', report: ntpq.stdout };
  return { service: 'none', report: '' };
}

/** Seconds the system clock is off NTP time per `chronyc tracking` ("0.000012 seconds fast"); null if unknown. */
export function chronyOffsetSeconds(tracking: string): number | null {
  const m = /^System time\s*:\s*([\d.]+) seconds (fast|slow)/m.exec(tracking);
  if (!m) return null;
  return Number(m[1]) * (m[2] === 'fast' ? 1 : -1);
}

/** chrony steps the clock itself past this offset (it would slew it for minutes otherwise). */
const CHRONY_STEP_OVER_S = 0.05;

export interface SyncPlan {
  actions: string[];
  steps: Step[];
}

async function planChrony(run: RunCommand, servers: string[], report: string): Promise<SyncPlan> {
  const plan: SyncPlan = { actions: [], steps: [] };
  if (servers.length > 0) {
    const path = `${CHRONY_SOURCES_DIR}/tskv.sources`;
    const content = `# written by tskv\n${servers.map((s) => `server ${s} iburst`).join('\n')}\n`;
    if (await pathExists(CHRONY_SOURCES_DIR)) {
      if ((await readCurrentFile(path)).content !== content) {
        plan.actions.push(`chrony: use ${servers.join(', ')} (${path})`);
        plan.steps.push(write(path, content), command('chronyc', ['reload', 'sources']));
        plan.steps.push(command('chronyc', ['burst', '4/4']));
      }
    } else {
      const known = (await run('chronyc', ['-N', 'sources'], 5_000)).stdout;
      for (const server of servers.filter((s) => !known.includes(s))) {
        plan.actions.push(`chrony: add server ${server} (runtime; ${CHRONY_SOURCES_DIR} missing)`);
        plan.steps.push(command('chronyc', ['add', 'server', server, 'iburst']));
      }
    }
  }
  const offset = chronyOffsetSeconds(report);
  if (offset !== null && Math.abs(offset) > CHRONY_STEP_OVER_S) {
    plan.actions.push(`chrony: step the clock now (off by ${offset.toFixed(3)} s)`);
    plan.steps.push(command('chronyc', ['makestep']));
  }
  return plan;
}

async function planTimesyncd(servers: string[], report: string): Promise<SyncPlan> {
  const plan: SyncPlan = { actions: [], steps: [] };
  if (servers.length > 0) {
    const content = `# written by tskv\n[Time]\nNTP=${servers.join(' ')}\n`;
    if ((await readCurrentFile(TIMESYNCD_DROPIN)).content !== content) {
      plan.actions.push(`systemd-timesyncd: use ${servers.join(', ')} (${TIMESYNCD_DROPIN})`);
      plan.steps.push(write(TIMESYNCD_DROPIN, content));
      plan.steps.push(command('systemctl', ['restart', 'systemd-timesyncd']));
    }
  }
  if (!/^NTP=yes$/m.test(report)) {
    plan.actions.push('systemd-timesyncd: turn on NTP (timedatectl set-ntp true)');
    plan.steps.push(command('timedatectl', ['set-ntp', 'true']));
  }
  return plan;
}

const BEGIN = '# BEGIN tskv servers';
const END = '# END tskv servers';

/** ntpd: tskv's servers in a marked block of ntp.conf, then a restart of the daemon. */
async function planNtpd(servers: string[]): Promise<SyncPlan> {
  const plan: SyncPlan = { actions: [], steps: [] };
  if (servers.length === 0) return plan;
  for (const path of NTP_CONFIGS) {
    const file = await readCurrentFile(path).catch(() => null);
    if (!file?.exists) continue;
    const block = `${BEGIN}\n${servers.map((s) => `server ${s} iburst`).join('\n')}\n${END}\n`;
    const without = file.content.replace(new RegExp(`${BEGIN}\\n[\\s\\S]*?${END}\\n?`), '');
    const content = `${without.replace(/\n*$/, '\n')}${block}`;
    if (content !== file.content) {
      const unit = path.includes('ntpsec') ? 'ntpsec' : 'ntp';
      plan.actions.push(`ntpd: use ${servers.join(', ')} (${path}), restart ${unit}`);
      plan.steps.push(write(path, content, file.mode ?? 0o644), command('systemctl', ['restart', unit]));
    }
    return plan;
  }
  plan.actions.push(`ntpd: no ${NTP_CONFIGS.join(' or ')} to add servers to`);
  return plan;
}

/** What makes the running time service sync (with these servers when given). */
export function planTimeSync(run: RunCommand, found: TimeService, servers: string[]): Promise<SyncPlan> {
  switch (found.service) {
    case 'chrony':
      return planChrony(run, servers, found.report);
    case 'systemd-timesyncd':
      return planTimesyncd(servers, found.report);
    case 'ntpd':
      return planNtpd(servers);
    default:
      return Promise.resolve({ actions: [], steps: [] });
  }
}
