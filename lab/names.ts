/**
 * Every name, path and address of a lab, derived from its name alone, so several labs coexist and
 * nothing collides with the machine: namespaces are `tskv-<lab>.net` (the bridge and the
 * controller-side address) and `tskv-<lab>.<host>` (names hold no dots, so prefixes never clash); addresses come from 198.18.0.0/15 (RFC 2544
 * benchmarking space, never routed on the Internet), one /24 per lab chosen by a hash of its name.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../controller/errors.ts';

export const DEFAULT_LAB = 'default';
export const DEFAULT_HOSTS = ['h102', 'docker', 'h104'];

/** The checkout: the nearest folder above this module with a package.json (from lab/, or from the bundle in dist/controller/). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

export const PROJECT_ROOT = projectRoot(fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, ''));

const LAB_NAME = /^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** Host i gets .(102 + i), as in the seed (h102, docker, h104 on .102-.104). */
const FIRST_HOST_OCTET = 102;
export const MAX_HOSTS = 100;

/** How a host starts its services: no init system (its own init script), or systemd as PID 1. */
export const LAB_INITS = ['none', 'systemd'] as const;
export type LabInit = (typeof LAB_INITS)[number];
/** Lab.up's default: tests say when they need systemd (init-less hosts boot faster). */
export const DEFAULT_INIT: LabInit = 'none';
/** `tskv lab up`'s default: what the production hosts an operator rehearses for run. */
export const CLI_DEFAULT_INIT: LabInit = 'systemd';

export interface LabHostLayout {
  name: string;
  index: number;
  address: string;
  netns: string;
  /** The veth end on the bridge, inside the bridge namespace. */
  bridgePort: string;
  /** `<lab dir>/disks/<host>`: the upper and work dirs of the host's root overlay (its disk). */
  diskDir: string;
  /** `<lab dir>/<host>.log`: what the host's init printed while booting. */
  logPath: string;
}

export interface LabLayout {
  name: string;
  /** `<project>/.lab/<name>`: inventory, key, known_hosts, state, logs, the hosts' disks. */
  dir: string;
  /** `<dir>/disks`: one folder per host, removed by `lab down`. */
  disksDir: string;
  netns: string;
  subnet: string;
  prefix: string;
  controllerAddress: string;
  inventoryPath: string;
  statePath: string;
  keyPath: string;
  knownHostsPath: string;
  proxyCommand: string;
  hosts: LabHostLayout[];
}

export function validateLabName(name: string): string {
  if (!LAB_NAME.test(name)) {
    throw new InputError(
      `invalid lab name '${name}': use 1-16 characters of a-z, 0-9 and '-', starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function validateHostNames(names: string[]): string[] {
  if (names.length === 0) throw new InputError('a lab needs at least one host');
  if (names.length > MAX_HOSTS) throw new InputError(`a lab has at most ${MAX_HOSTS} hosts`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!HOST_NAME.test(name) || name === 'net') {
      throw new InputError(
        `invalid lab host name '${name}': use a-z, 0-9 and '-' (up to 32 characters, not 'net')`,
      );
    }
    if (seen.has(name)) throw new InputError(`lab host '${name}' is listed twice`);
    seen.add(name);
  }
  return names;
}

export function validateLabInit(init: string): LabInit {
  const known = LAB_INITS.find((kind) => kind === init);
  if (known === undefined) throw new InputError(`invalid init '${init}': use ${LAB_INITS.join(' or ')}`);
  return known;
}

/** The /24 of a lab: 198.18.0.0/15 holds 512 of them; the lab name's hash picks one. */
export function labPrefix(name: string): string {
  const digest = createHash('sha256').update(`tskv-lab:${name}`).digest();
  const slot = ((digest[0]! << 8) | digest[1]!) % 512;
  return `198.${18 + (slot >> 8)}.${slot & 255}`;
}

export function labLayout(name: string, hostNames: string[] = []): LabLayout {
  validateLabName(name);
  const dir = join(PROJECT_ROOT, '.lab', name);
  const prefix = labPrefix(name);
  const netns = `${netnsPrefix(name)}net`;
  return {
    name,
    dir,
    disksDir: join(dir, 'disks'),
    netns,
    prefix,
    subnet: `${prefix}.0/24`,
    controllerAddress: `${prefix}.1`,
    inventoryPath: join(dir, 'inventory.yaml'),
    statePath: join(dir, 'state.json'),
    keyPath: join(dir, 'id_ed25519'),
    knownHostsPath: join(dir, 'known_hosts'),
    // -b: socat copies 8 KB per read by default; 128 KB cuts its syscalls (and CPU) for pushes.
    proxyCommand: `nsenter --net=/run/netns/${netns} socat -b 131072 STDIO TCP:%h:%p,nodelay`,
    hosts: hostNames.map((host, index) => ({
      name: host,
      index,
      address: `${prefix}.${FIRST_HOST_OCTET + index}`,
      netns: `${netnsPrefix(name)}${host}`,
      bridgePort: `p${index}`,
      diskDir: join(dir, 'disks', host),
      logPath: join(dir, `${host}.log`),
    })),
  };
}

/** Every namespace of lab `name` starts with this (lab and host names hold no dots). */
export function netnsPrefix(name: string): string {
  return `tskv-${name}.`;
}

export function cacheDir(...parts: string[]): string {
  return join(PROJECT_ROOT, '.cache', ...parts);
}
