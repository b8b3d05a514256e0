/**
 * firewalld, default zone, runtime and permanent: the ports to let in from everywhere added
 * where missing; a restricted port gets a rich rule per source (firewalld.ts sourceRichRule),
 * then its port entry is removed, then the rules of sources no longer wanted. Over D-Bus where
 * the bus answers (a few ms a call), else through firewall-cmd (a Python start each time); the
 * relay offer's rule with a timeout (planTimedRichRule) is changed the same way.
 */
import type { FirewallOpenRequest } from '../api/index.ts';
import { type DbusInvoke, dbusCall } from './dbus.ts';
import {
  dbusPortRules,
  FIREWALLD,
  firewallCmdDefaultZone,
  firewalldPortRules,
  sourceRichRule,
  sourceRichRules,
} from './firewalld.ts';
import { type OpenPlan, tcpList as tcp } from './open-plan.ts';
import { type PortRule, parsePortRule, ruleCovers } from './port-rules.ts';
import { count, sourceChanges } from './source-rules.ts';
import { command, dbusStep, type RunCommand, type Step } from './steps.ts';

type Layer = 'runtime' | 'permanent';

/** One configuration of the zone, as read. */
export interface FirewalldLayer {
  ports: PortRule[];
  /** Read only when some port is restricted. */
  richRules: string[];
}

export interface FirewalldView {
  zone: string;
  runtime: FirewalldLayer;
  permanent: FirewalldLayer;
}

/** How each kind of change is made, per layer: D-Bus calls or firewall-cmd arguments. */
export interface FirewalldChanges {
  addPorts(layer: Layer, ports: number[]): Step[];
  removePorts(layer: Layer, ports: number[]): Step[];
  /** `seconds`: runtime only, dropped by firewalld itself after that long (absent or 0: for good). */
  addRules(layer: Layer, rules: string[], seconds?: number): Step[];
  removeRules(layer: Layer, rules: string[]): Step[];
}

/** The changes, in the order that never shuts out a wanted source. Pure. */
export function planFirewalld(
  view: FirewalldView,
  request: FirewallOpenRequest,
  make: FirewalldChanges,
): OpenPlan {
  const plan: OpenPlan = { actions: [], steps: [] };
  const where = (layer: Layer) => `firewalld zone ${view.zone} (${layer})`;
  const layers: Layer[] = ['runtime', 'permanent'];
  // After every source's rule is in (both layers): the openings to all, then the sources that left.
  const closing: OpenPlan = { actions: [], steps: [] };
  const dropping: OpenPlan = { actions: [], steps: [] };
  for (const layer of layers) {
    const have = view[layer];
    const missing = request.ports.filter((p) => !have.ports.some((r) => ruleCovers(r, p, 'tcp')));
    if (missing.length > 0) {
      plan.actions.push(`open ${tcp(missing)} in ${where(layer)}`);
      plan.steps.push(...make.addPorts(layer, missing));
    }
    const zone = { name: view.zone, target: 'default', services: [], servicePorts: new Map(), ...have };
    for (const { port, sources } of request.restricted) {
      const changes = sourceChanges(sources, firewalldPortRules(zone, port));
      if (changes.add.length > 0) {
        plan.actions.push(`let ${port}/tcp in from ${changes.add.join(', ')} in ${where(layer)}`);
        plan.steps.push(
          ...make.addRules(
            layer,
            changes.add.map((s) => sourceRichRule(port, s)),
          ),
        );
      }
      if (changes.closeToAll) {
        closing.actions.push(`close ${port}/tcp to other sources in ${where(layer)}`);
        closing.steps.push(...make.removePorts(layer, [port]));
      }
      if (changes.remove.length > 0) {
        const gone = new Set(changes.remove);
        const texts = sourceRichRules(have.richRules, port).filter((r) => gone.has(r.source));
        dropping.actions.push(
          `remove the ${count(changes.remove.length, 'rule')} letting ${changes.remove.join(', ')} in on ${port}/tcp in ${where(layer)}`,
        );
        dropping.steps.push(
          ...make.removeRules(
            layer,
            texts.map((r) => r.text),
          ),
        );
      }
    }
  }
  for (const p of [closing, dropping]) {
    plan.actions.push(...p.actions);
    plan.steps.push(...p.steps);
  }
  return plan;
}

/** A firewalld method call: `method` relative to the FirewallD1 interface. */
const firewalld = (path: string, method: string, args: string[] = []) => ({
  dest: FIREWALLD.dest,
  path,
  method: `${FIREWALLD.dest}.${method}`,
  args,
});

function dbusChanges(zone: string, zonePath: string): FirewalldChanges {
  const call = (layer: Layer, method: string, args: string[]) =>
    dbusStep(
      layer === 'runtime'
        ? firewalld(FIREWALLD.path, `zone.${method}`, [`string:${zone}`, ...args])
        : firewalld(zonePath, `config.zone.${method}`, args),
    );
  // A runtime addition takes a timeout (0: for good); a permanent one does not.
  const timeout = (layer: Layer, seconds = 0) => (layer === 'runtime' ? [`int32:${seconds}`] : []);
  return {
    addPorts: (layer, ports) =>
      ports.map((p) => call(layer, 'addPort', [`string:${p}`, 'string:tcp', ...timeout(layer)])),
    removePorts: (layer, ports) => ports.map((p) => call(layer, 'removePort', [`string:${p}`, 'string:tcp'])),
    addRules: (layer, rules, seconds) =>
      rules.map((r) => call(layer, 'addRichRule', [`string:${r}`, ...timeout(layer, seconds)])),
    removeRules: (layer, rules) => rules.map((r) => call(layer, 'removeRichRule', [`string:${r}`])),
  };
}

function firewallCmdChanges(zone: string): FirewalldChanges {
  const cmd = (layer: Layer, flag: string, values: string[], extra: string[] = []) =>
    values.length === 0
      ? []
      : [
          command('firewall-cmd', [
            ...(layer === 'permanent' ? ['--permanent'] : []),
            `--zone=${zone}`,
            ...values.map((v) => `--${flag}=${v}`),
            ...extra,
          ]),
        ];
  return {
    addPorts: (layer, ports) =>
      cmd(
        layer,
        'add-port',
        ports.map((p) => `${p}/tcp`),
      ),
    removePorts: (layer, ports) =>
      cmd(
        layer,
        'remove-port',
        ports.map((p) => `${p}/tcp`),
      ),
    addRules: (layer, rules, seconds) =>
      cmd(layer, 'add-rich-rule', rules, layer === 'runtime' && seconds ? [`--timeout=${seconds}s`] : []),
    removeRules: (layer, rules) => cmd(layer, 'remove-rich-rule', rules),
  };
}

/**
 * Whether firewalld is changed over D-Bus here: the default zone and its configuration's object
 * path when firewalld answers on the system bus; undefined without the bus (then firewall-cmd).
 */
async function busZone(bus: DbusInvoke): Promise<{ zone: string; zonePath: string } | undefined> {
  const ask = (call: ReturnType<typeof firewalld>) => dbusCall(call, bus);
  const zone = (await ask(firewalld(FIREWALLD.path, 'getDefaultZone')))?.[0];
  if (typeof zone !== 'string') return undefined;
  const zonePath = (
    await ask(firewalld(`${FIREWALLD.path}/config`, 'config.getZoneByName', [`string:${zone}`]))
  )?.[0];
  return typeof zonePath === 'string' ? { zone, zonePath } : undefined;
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);

/** The zone's ports (and rich rules, when some port is restricted) over D-Bus; undefined without the bus or the API. */
async function readOverDbus(
  bus: DbusInvoke,
  withRules: boolean,
): Promise<{ view: FirewalldView; zonePath: string } | undefined> {
  const ask = (call: ReturnType<typeof firewalld>) => dbusCall(call, bus);
  const found = await busZone(bus);
  if (!found) return undefined;
  const { zone, zonePath } = found;
  const noRules = Promise.resolve<string[] | undefined>([]);
  const [runtime, permanent, runtimeRules, permanentRules] = await Promise.all([
    ask(firewalld(FIREWALLD.path, 'zone.getPorts', [`string:${zone}`])).then((r) => dbusPortRules(r?.[0])),
    ask(firewalld(zonePath, 'config.zone.getPorts')).then((r) => dbusPortRules(r?.[0])),
    withRules
      ? ask(firewalld(FIREWALLD.path, 'zone.getRichRules', [`string:${zone}`])).then((r) => strings(r?.[0]))
      : noRules,
    withRules ? ask(firewalld(zonePath, 'config.zone.getRichRules')).then((r) => strings(r?.[0])) : noRules,
  ]);
  if (!runtime || !permanent || !runtimeRules || !permanentRules) return undefined;
  return {
    view: {
      zone,
      runtime: { ports: runtime, richRules: runtimeRules },
      permanent: { ports: permanent, richRules: permanentRules },
    },
    zonePath,
  };
}

async function readWithFirewallCmd(run: RunCommand, withRules: boolean): Promise<FirewalldView> {
  const nothing = Promise.resolve({ code: 0, stdout: '', stderr: '' });
  const [zone, ...results] = await Promise.all([
    firewallCmdDefaultZone(run),
    run('firewall-cmd', ['--list-ports']),
    run('firewall-cmd', ['--permanent', '--list-ports']),
    withRules ? run('firewall-cmd', ['--list-rich-rules']) : nothing,
    withRules ? run('firewall-cmd', ['--permanent', '--list-rich-rules']) : nothing,
  ]);
  for (const r of results) {
    if (r.code !== 0) throw new Error(`firewall-cmd failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  const [runtime, permanent, runtimeRules, permanentRules] = results.map((r) => r.stdout);
  const ports = (text = '') =>
    text
      .split(/\s+/)
      .map(parsePortRule)
      .filter((r): r is PortRule => r !== null);
  const lines = (text = '') =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  return {
    zone,
    runtime: { ports: ports(runtime), richRules: lines(runtimeRules) },
    permanent: { ports: ports(permanent), richRules: lines(permanentRules) },
  };
}

/** Reads the default zone (runtime and permanent) and plans the request's changes in it. */
export async function planFirewalldOpen(
  run: RunCommand,
  request: FirewallOpenRequest,
  bus: DbusInvoke,
): Promise<OpenPlan> {
  const withRules = request.restricted.length > 0;
  const overDbus = await readOverDbus(bus, withRules);
  if (overDbus)
    return planFirewalld(overDbus.view, request, dbusChanges(overDbus.view.zone, overDbus.zonePath));
  const view = await readWithFirewallCmd(run, withRules);
  return planFirewalld(view, request, firewallCmdChanges(view.zone));
}

/**
 * `rule` in the default zone's runtime for `seconds` (firewalld drops it itself then), and the
 * steps taking it out earlier; over D-Bus where firewalld answers there, else through firewall-cmd,
 * as planFirewalldOpen decides. `knownZone` (the detection's) spares firewall-cmd a
 * --get-default-zone, a Python start.
 */
export async function planTimedRichRule(
  rule: string,
  seconds: number,
  run: RunCommand,
  bus: DbusInvoke,
  knownZone?: string,
): Promise<{ add: Step[]; remove: Step[] }> {
  const overDbus = await busZone(bus);
  const changes = overDbus
    ? dbusChanges(overDbus.zone, overDbus.zonePath)
    : firewallCmdChanges(knownZone || (await firewallCmdDefaultZone(run)));
  return {
    add: changes.addRules('runtime', [rule], seconds),
    remove: changes.removeRules('runtime', [rule]),
  };
}
