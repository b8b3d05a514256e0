import { readFile } from 'node:fs/promises';
import { canonicalCidr, cidrFamily } from '../api/index.ts';
import { type DbusValue, dbusCall } from './dbus.ts';
import { type PortRule, parsePortRule, ruleCovers } from './port-rules.ts';
import { runCommand } from './run.ts';
import type { PortRules } from './source-rules.ts';
import type { RunCommand } from './steps.ts';

export interface FirewalldZone {
  name: string;
  target: string;
  services: string[];
  ports: PortRule[];
  richRules: string[];
}

export const FIREWALLD = { dest: 'org.fedoraproject.FirewallD1', path: '/org/fedoraproject/FirewallD1' };

/** firewalld's port lists over D-Bus (arrays of [port, protocol]); undefined when not a list. */
export function dbusPortRules(value: DbusValue | undefined): PortRule[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .map((p) => (Array.isArray(p) ? parsePortRule(`${p[0]}/${p[1]}`) : null))
    .filter((r): r is PortRule => r !== null);
}

/** The default zone over D-Bus: answered only by a running firewalld. */
export async function dbusDefaultZone(): Promise<string | undefined> {
  const r = await dbusCall({ ...FIREWALLD, method: 'org.fedoraproject.FirewallD1.getDefaultZone' });
  return typeof r?.[0] === 'string' ? r[0] : undefined;
}

/** A zone's settings over D-Bus (firewalld >= 1.0): the runtime ones, or the permanent ones. */
async function dbusZone(name: string, permanent = false): Promise<FirewalldZone | undefined> {
  let r: DbusValue[] | undefined;
  if (permanent) {
    const path = (
      await dbusCall({
        ...FIREWALLD,
        path: `${FIREWALLD.path}/config`,
        method: 'org.fedoraproject.FirewallD1.config.getZoneByName',
        args: [`string:${name}`],
      })
    )?.[0];
    if (typeof path !== 'string') return undefined;
    r = await dbusCall({
      ...FIREWALLD,
      path,
      method: 'org.fedoraproject.FirewallD1.config.zone.getSettings2',
    });
  } else {
    r = await dbusCall({
      ...FIREWALLD,
      method: 'org.fedoraproject.FirewallD1.zone.getZoneSettings2',
      args: [`string:${name}`],
    });
  }
  const d = r?.[0];
  if (!d || typeof d !== 'object' || Array.isArray(d)) return undefined;
  const strings = (v: DbusValue | undefined) => (Array.isArray(v) ? v.map(String) : []);
  return {
    name,
    target: typeof d.target === 'string' && d.target !== '' ? d.target : 'default',
    services: strings(d.services),
    ports: dbusPortRules(d.ports) ?? [],
    // getZoneSettings2 names the rich rules `rules_str`.
    richRules: strings(d.rules_str),
  };
}

/** firewall-cmd's view, for hosts where D-Bus does not answer (dbusDefaultZone gave nothing). */
export async function firewallCmdSaysRunning(): Promise<boolean> {
  const r = await runCommand('firewall-cmd', ['--state']);
  return r.code === 0 && r.stdout.trim() === 'running';
}

/** Parse `firewall-cmd --zone=Z --list-all`. */
export function parseZoneListing(text: string): FirewalldZone {
  const lines = text.split('\n');
  const name = (lines[0] ?? '').trim().split(/\s+/)[0] ?? '';
  const field = (key: string): string => {
    const line = lines.find((l) => l.trim().startsWith(`${key}:`));
    return line
      ? line
          .trim()
          .slice(key.length + 1)
          .trim()
      : '';
  };
  const words = (key: string): string[] => field(key).split(/\s+/).filter(Boolean);
  const richStart = lines.findIndex((l) => l.trim().startsWith('rich rules:'));
  const richRules =
    richStart < 0
      ? []
      : lines
          .slice(richStart + 1)
          .map((l) => l.trim())
          .filter(Boolean);
  return {
    name,
    target: field('target') || 'default',
    services: words('services'),
    ports: words('ports')
      .map(parsePortRule)
      .filter((p): p is PortRule => p !== null),
    richRules,
  };
}

/** Ports of a firewalld service, from its XML definition (/etc overrides /usr/lib). */
export function parseServiceXml(xml: string): PortRule[] {
  const out: PortRule[] = [];
  for (const m of xml.matchAll(/<port\s+([^>]*?)\/?>/g)) {
    const attrs = m[1] ?? '';
    const port = /port="([^"]+)"/.exec(attrs)?.[1];
    const protocol = /protocol="([^"]+)"/.exec(attrs)?.[1] ?? 'any';
    const rule = port ? parsePortRule(`${port}/${protocol}`) : null;
    if (rule) out.push(rule);
  }
  return out;
}

async function servicePorts(service: string): Promise<PortRule[]> {
  for (const dir of ['/etc/firewalld/services', '/usr/lib/firewalld/services']) {
    try {
      return parseServiceXml(await readFile(`${dir}/${service}.xml`, 'utf8'));
    } catch {
      // not defined here
    }
  }
  const r = await runCommand('firewall-cmd', [`--info-service=${service}`]);
  return parseZoneListing(r.stdout).ports;
}

/** The default zone's name, as firewall-cmd says it. */
export async function firewallCmdDefaultZone(run: RunCommand = runCommand): Promise<string> {
  const r = await run('firewall-cmd', ['--get-default-zone']);
  const zone = r.stdout.trim();
  if (r.code !== 0 || zone === '') {
    throw new Error(`firewall-cmd --get-default-zone failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return zone;
}

async function readZoneWithFirewallCmd(permanent: boolean): Promise<FirewalldZone> {
  const zoneName = await firewallCmdDefaultZone();
  const listing = await runCommand('firewall-cmd', [
    ...(permanent ? ['--permanent'] : []),
    `--zone=${zoneName}`,
    '--list-all',
  ]);
  if (listing.code !== 0) throw new Error(`firewall-cmd --list-all failed: ${listing.stderr.trim()}`);
  const zone = parseZoneListing(listing.stdout);
  return { ...zone, name: zone.name || zoneName };
}

export type JudgedZone = FirewalldZone & { servicePorts: Map<string, PortRule[]> };

/**
 * The default zone as it filters now (runtime), or as it will after a reload or reboot (permanent).
 * `dbusZoneName`: dbusDefaultZone's answer; without one, firewall-cmd is asked instead.
 */
export async function readDefaultZone(
  permanent: boolean,
  dbusZoneName: string | undefined,
): Promise<JudgedZone> {
  const zone =
    (dbusZoneName !== undefined ? await dbusZone(dbusZoneName, permanent) : undefined) ??
    (await readZoneWithFirewallCmd(permanent));
  const ports = new Map<string, PortRule[]>();
  await Promise.all(zone.services.map(async (s) => ports.set(s, await servicePorts(s))));
  return { ...zone, servicePorts: ports };
}

/** Whether a port is let in by a zone, and why. */
export function judgeFirewalldPort(
  zone: FirewalldZone & { servicePorts: Map<string, PortRule[]> },
  port: number,
  protocol: string,
): { open: boolean | null; detail: string } {
  if (zone.target === 'ACCEPT') return { open: true, detail: `zone ${zone.name} accepts everything` };
  const byPort = zone.ports.find((p) => ruleCovers(p, port, protocol));
  if (byPort) return { open: true, detail: `port ${port}/${protocol} open in zone ${zone.name}` };
  for (const [service, rules] of zone.servicePorts) {
    if (rules.some((r) => ruleCovers(r, port, protocol))) {
      return { open: true, detail: `service ${service} in zone ${zone.name}` };
    }
  }
  const rich = zone.richRules.find((r) => new RegExp(`port="${port}"`).test(r) && /\baccept\b/.test(r));
  if (rich && !/\bsource\b/.test(rich))
    return { open: true, detail: `rich rule in zone ${zone.name}: ${rich}` };
  if (rich) return { open: null, detail: `only for some sources in zone ${zone.name}: ${rich}` };
  return { open: false, detail: `firewalld zone ${zone.name}` };
}

/**
 * tskv's rich rule: TCP to `port` from one network, accepted. Rich rules, not a zone of tskv's
 * own with the members as its sources: a source bound to a zone moves all its traffic there (SSH
 * from a member would meet that zone's rules, not the default zone's), and firewalld refuses a
 * source that another zone holds already. Rich rules only add to the zone the hosts already use.
 */
export function sourceRichRule(port: number, source: string): string {
  return `rule family="${cidrFamily(source)}" source address="${source}" port port="${port}" protocol="tcp" accept`;
}

const SOURCE_RICH_RULE =
  /^rule family="(ipv4|ipv6)" source address="([^"]+)" port port="(\d+)" protocol="tcp" accept$/;

/** The rich rules of tskv's kind for `port`, with their sources in one spelling and their text as firewalld keeps it. */
export function sourceRichRules(richRules: string[], port: number): { source: string; text: string }[] {
  return richRules.flatMap((text) => {
    const m = SOURCE_RICH_RULE.exec(text.trim());
    const source = m && Number(m[3]) === port ? canonicalCidr(m[2]!) : undefined;
    return source !== undefined && cidrFamily(source) === m![1] ? [{ source, text: text.trim() }] : [];
  });
}

const isPortEntry = (r: PortRule, port: number) => r.from === port && r.to === port && r.protocol === 'tcp';

/** The zone's rules of tskv's kind for a TCP port, and what else opens it to every source. */
export function firewalldPortRules(zone: JudgedZone, port: number): PortRules {
  const own = new Set(sourceRichRules(zone.richRules, port).map((r) => r.text));
  const rest = judgeFirewalldPort(
    {
      ...zone,
      ports: zone.ports.filter((r) => !isPortEntry(r, port)),
      richRules: zone.richRules.filter((r) => !own.has(r.trim())),
    },
    port,
    'tcp',
  );
  return {
    openToAll: zone.ports.some((r) => isPortEntry(r, port)),
    sources: sourceRichRules(zone.richRules, port).map((r) => r.source),
    wider: rest.open === true ? rest.detail : undefined,
  };
}
