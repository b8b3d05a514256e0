/**
 * The lab's network: a bridge in its own namespace (which also holds the controller-side
 * address), and one veth per host into the host's namespace. The machine's own (root) network
 * namespace is only read, to refuse an address range that is already in use there.
 */
import { readdirSync } from 'node:fs';
import { TskvError } from '../controller/errors.ts';
import type { LabHostLayout, LabLayout } from './names.ts';
import { run, runOk } from './run.ts';

const NETNS_DIR = '/run/netns';

export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function overlaps(cidrA: string, cidrB: string): boolean {
  const [a = '', la = '32'] = cidrA.split('/');
  const [b = '', lb = '32'] = cidrB.split('/');
  const len = Math.min(Number(la), Number(lb));
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (ipToInt(a) & mask) >>> 0 === (ipToInt(b) & mask) >>> 0;
}

/** IPv4 prefixes (addresses and routes) a namespace uses; `ns` undefined = the machine's own. */
async function usedPrefixes(ns: string | undefined): Promise<string[]> {
  const nsArgs = ns ? ['-n', ns] : [];
  const found: string[] = [];
  const addrs = await run('ip', [...nsArgs, '-4', '-o', 'addr', 'show']);
  for (const m of addrs.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) found.push(m[1]!);
  const routes = await run('ip', [...nsArgs, '-4', 'route', 'show', 'table', 'all']);
  for (const line of routes.stdout.split('\n')) {
    const dest = line.split(' ')[0] ?? '';
    if (dest === 'default') continue;
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dest)) found.push(dest.includes('/') ? dest : `${dest}/32`);
  }
  return found;
}

/** Refuses a lab whose /24 is already used on this machine or by another lab's bridge. */
export async function assertSubnetFree(layout: LabLayout): Promise<void> {
  const others = listNetns().filter(
    (ns) => ns.startsWith('tskv-') && ns.endsWith('.net') && ns !== layout.netns,
  );
  const places: Array<[string, string | undefined]> = [
    ['this machine', undefined],
    ...others.map((ns): [string, string] => [`lab namespace ${ns}`, ns]),
  ];
  for (const [where, ns] of places) {
    const clash = (await usedPrefixes(ns)).find((p) => overlaps(p, layout.subnet));
    if (clash) {
      throw new TskvError(
        'E_LAB_SUBNET',
        `lab '${layout.name}' would use ${layout.subnet}, but ${where} uses ${clash}`,
        {
          fix: 'pick another lab name (--name): the address range is derived from it',
        },
      );
    }
  }
}

/** The bridge namespace with the controller-side address; idempotent. */
export async function createBridge(layout: LabLayout): Promise<void> {
  if (!listNetns().includes(layout.netns)) await runOk('ip', ['netns', 'add', layout.netns]);
  const ns = ['-n', layout.netns];
  const have = await run('ip', [...ns, 'link', 'show', 'br0']);
  if (have.code !== 0) {
    await runOk('ip', [...ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await runOk('ip', [...ns, 'addr', 'add', `${layout.controllerAddress}/24`, 'dev', 'br0']);
  }
  await runOk('ip', [...ns, 'link', 'set', 'lo', 'up']);
  await runOk('ip', [...ns, 'link', 'set', 'br0', 'up']);
}

/** A fresh namespace for one host, linked to the bridge by a veth (eth0 inside), no default route. */
export async function createHostNetwork(layout: LabLayout, host: LabHostLayout): Promise<void> {
  if (listNetns().includes(host.netns)) await runOk('ip', ['netns', 'del', host.netns]);
  await run('ip', ['-n', layout.netns, 'link', 'del', host.bridgePort]);
  await runOk('ip', ['netns', 'add', host.netns]);
  const br = ['-n', layout.netns];
  const h = ['-n', host.netns];
  await runOk('ip', [
    ...br,
    'link',
    'add',
    host.bridgePort,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    host.netns,
  ]);
  await runOk('ip', [...br, 'link', 'set', host.bridgePort, 'master', 'br0', 'up']);
  await runOk('ip', [...h, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
  await runOk('ip', [...h, 'link', 'set', 'eth0', 'up']);
  await runOk('ip', [...h, 'link', 'set', 'lo', 'up']);
}

export async function deleteNetns(name: string): Promise<void> {
  if (!listNetns().includes(name)) return;
  const res = await run('ip', ['netns', 'del', name]);
  if (res.code !== 0 && listNetns().includes(name)) {
    throw new TskvError('E_LAB_DOWN', `cannot delete network namespace ${name}: ${res.stderr.trim()}`);
  }
}
