import { readFile, stat } from 'node:fs/promises';
import { NFT_BOOT_CONFIGS, NFT_TSKV_RULES } from '../api/index.ts';
import { type DbusInvoke, dbusCall } from './dbus.ts';
import { dbusPortRules, FIREWALLD } from './firewalld.ts';
import { judgeNftPort, type NftInputChain } from './nft.ts';
import { type PortRule, parsePortRule, ruleCovers } from './port-rules.ts';
import { command, dbusStep, type RunCommand, type Step, write } from './steps.ts';
import { judgeUfwPort, type UfwStatus } from './ufw.ts';

export interface OpenPlan {
  actions: string[];
  steps: Step[];
}

const tcp = (ports: number[]) => ports.map((p) => `${p}/tcp`).join(' ');

function listedPorts(text: string): PortRule[] {
  return text
    .split(/\s+/)
    .map(parsePortRule)
    .filter((r): r is PortRule => r !== null);
}

/** A firewalld method call: `method` relative to the FirewallD1 interface. */
const firewalld = (path: string, method: string, args: string[] = []) => ({
  dest: FIREWALLD.dest,
  path,
  method: `${FIREWALLD.dest}.${method}`,
  args,
});

/**
 * The same plan over firewalld's D-Bus API (a few ms a call where firewall-cmd starts Python each
 * time); undefined when the bus or the API is not there, and firewall-cmd does the job.
 */
async function planFirewalldOpenOverDbus(bus: DbusInvoke, ports: number[]): Promise<OpenPlan | undefined> {
  const ask = (call: ReturnType<typeof firewalld>) => dbusCall(call, bus);
  const zone = (await ask(firewalld(FIREWALLD.path, 'getDefaultZone')))?.[0];
  if (typeof zone !== 'string') return undefined;
  const zonePath = (
    await ask(firewalld(`${FIREWALLD.path}/config`, 'config.getZoneByName', [`string:${zone}`]))
  )?.[0];
  if (typeof zonePath !== 'string') return undefined;
  const [runtime, permanent] = await Promise.all([
    ask(firewalld(FIREWALLD.path, 'zone.getPorts', [`string:${zone}`])).then((r) => dbusPortRules(r?.[0])),
    ask(firewalld(zonePath, 'config.zone.getPorts')).then((r) => dbusPortRules(r?.[0])),
  ]);
  if (!runtime || !permanent) return undefined;
  const missing = (rules: PortRule[]) => ports.filter((p) => !rules.some((r) => ruleCovers(r, p, 'tcp')));
  const plan: OpenPlan = { actions: [], steps: [] };
  const runtimeMissing = missing(runtime);
  const permanentMissing = missing(permanent);
  if (runtimeMissing.length > 0) {
    plan.actions.push(`open ${tcp(runtimeMissing)} in firewalld zone ${zone} (runtime)`);
    for (const p of runtimeMissing) {
      plan.steps.push(
        dbusStep(
          firewalld(FIREWALLD.path, 'zone.addPort', [
            `string:${zone}`,
            `string:${p}`,
            'string:tcp',
            'int32:0',
          ]),
        ),
      );
    }
  }
  if (permanentMissing.length > 0) {
    plan.actions.push(`open ${tcp(permanentMissing)} in firewalld zone ${zone} (permanent)`);
    for (const p of permanentMissing) {
      plan.steps.push(dbusStep(firewalld(zonePath, 'config.zone.addPort', [`string:${p}`, 'string:tcp'])));
    }
  }
  return plan;
}

/**
 * firewalld, default zone: add the ports missing from the runtime configuration and those
 * missing from the permanent one. Reads both listings (and the zone's name) at once.
 */
export async function planFirewalldOpen(
  run: RunCommand,
  ports: number[],
  bus: DbusInvoke,
): Promise<OpenPlan> {
  const overDbus = await planFirewalldOpenOverDbus(bus, ports);
  if (overDbus) return overDbus;
  const [zone, runtime, permanent] = await Promise.all([
    run('firewall-cmd', ['--get-default-zone']),
    run('firewall-cmd', ['--list-ports']),
    run('firewall-cmd', ['--permanent', '--list-ports']),
  ]);
  for (const r of [zone, runtime, permanent]) {
    if (r.code !== 0) throw new Error(`firewall-cmd failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  const name = zone.stdout.trim();
  const missing = (listing: string) => {
    const rules = listedPorts(listing);
    return ports.filter((p) => !rules.some((r) => ruleCovers(r, p, 'tcp')));
  };
  const plan: OpenPlan = { actions: [], steps: [] };
  const add = (which: number[], permanentFlag: string[], label: string) => {
    if (which.length === 0) return;
    plan.actions.push(`open ${tcp(which)} in firewalld zone ${name} (${label})`);
    plan.steps.push(
      command('firewall-cmd', [
        ...permanentFlag,
        `--zone=${name}`,
        ...which.map((p) => `--add-port=${p}/tcp`),
      ]),
    );
  };
  add(missing(runtime.stdout), [], 'runtime');
  add(missing(permanent.stdout), ['--permanent'], 'permanent');
  return plan;
}

/** ufw: `ufw allow P/tcp` for each port ufw does not let in yet (ufw keeps its rules across reboots). */
export function planUfwOpen(status: UfwStatus, ports: number[]): OpenPlan {
  const closed = ports.filter((p) => judgeUfwPort(status, p, 'tcp').open !== true);
  return {
    actions: closed.map((p) => `ufw allow ${p}/tcp`),
    steps: closed.map((p) => command('ufw', ['allow', `${p}/tcp`])),
  };
}

export interface NftConfig {
  path: string;
  text: string;
  mode: number;
}

export async function readNftConfig(): Promise<NftConfig | null> {
  for (const path of NFT_BOOT_CONFIGS) {
    try {
      return { path, text: await readFile(path, 'utf8'), mode: (await stat(path)).mode & 0o7777 };
    } catch {
      // not this distribution's layout
    }
  }
  return null;
}

/**
 * nftables: an `accept` in a table of our own would not help (a packet accepted by one base
 * chain still meets the drop of every other), so the accept rule goes first in each input chain
 * that would refuse the ports. For reboots, the same `insert rule` lines go to a file included at
 * the end of the boot configuration, but only when that configuration defines the table itself
 * (else loading it at boot would fail as a whole).
 */
export function planNftOpen(chains: NftInputChain[], ports: number[], config: NftConfig | null): OpenPlan {
  const plan: OpenPlan = { actions: [], steps: [] };
  const persist: string[] = [];
  for (const chain of chains) {
    const closed = ports.filter((p) => judgeNftPort([chain], p, 'tcp').open !== true);
    if (closed.length === 0) continue;
    const [family, table] = chain.table.split(' ');
    const rule = ['tcp', 'dport', `{ ${closed.join(', ')} }`, 'accept', 'comment', '"tskv etcd"'];
    plan.actions.push(`accept ${tcp(closed)} first in nftables chain ${chain.table} ${chain.name}`);
    plan.steps.push(command('nft', ['insert', 'rule', family ?? 'inet', table ?? '', chain.name, ...rule]));
    const definesTable = new RegExp(`^\\s*table\\s+${family}\\s+${table}\\b`, 'm').test(config?.text ?? '');
    if (definesTable) persist.push(`insert rule ${family} ${table} ${chain.name} ${rule.join(' ')}`);
    else
      plan.actions.push(
        `(runtime only: ${config?.path ?? 'no nftables.conf'} does not define ${chain.table})`,
      );
  }
  if (config && persist.length > 0) {
    plan.actions.push(`persist in ${NFT_TSKV_RULES}, included from ${config.path}`);
    plan.steps.push(write(NFT_TSKV_RULES, `# written by tskv: etcd ports\n${persist.join('\n')}\n`));
    const include = `include "${NFT_TSKV_RULES}"`;
    if (!config.text.includes(include)) {
      plan.steps.push(write(config.path, `${config.text.replace(/\n*$/, '\n')}${include}\n`, config.mode));
    }
  }
  return plan;
}
