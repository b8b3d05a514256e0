/** `tskv lab up|down|status|skew|reboot`: the lab of real hosts on this machine (lab/). */

import { Lab } from '../../lab/lab.ts';
import { CLI_DEFAULT_INIT, DEFAULT_HOSTS, DEFAULT_LAB, LAB_INITS, validateLabInit } from '../../lab/names.ts';
import { InputError } from '../errors.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';

const USAGE = `usage:
  tskv lab up [--name N] [--hosts ${DEFAULT_HOSTS.join(',')}] [--init ${LAB_INITS.join('|')}]
                                                  start the lab's hosts, write its inventory
                                                  (--init: services started by systemd as PID 1,
                                                  or by the lab's own init; default ${CLI_DEFAULT_INIT})
  tskv lab down [--name N]                        remove every namespace, mount, process and disk of the lab
  tskv lab status [--name N]                      hosts, addresses, init, sshd and firewalld state
  tskv lab skew HOST SECONDS [--name N]           clock offset for HOST's new processes (0 removes it)
  tskv lab reboot HOST... [--name N] [--init ${LAB_INITS.join('|')}]
                                                  power-cycle hosts: their disk stays, memory and processes go
                                                  (--init: boot them with another init from now on, as a
                                                  host that gains systemd)

Needs root. Several labs coexist under different --name (default '${DEFAULT_LAB}'); state and the
inventory live in .lab/<name>/ of the project.`;

const OPTIONS = {
  name: { type: 'string' },
  hosts: { type: 'string' },
  init: { type: 'string' },
} as const;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function up(name: string, hosts: string | undefined, init: string | undefined): Promise<number> {
  const hostList =
    hosts === undefined
      ? undefined
      : hosts
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
  const lab = await Lab.up({
    name,
    hosts: hostList,
    init: validateLabInit(init ?? CLI_DEFAULT_INIT),
    log: say,
  });
  for (const host of lab.hosts) say(`  ${host.name.padEnd(12)} ${host.address}`);
  say('inventory:');
  process.stdout.write(`${lab.inventoryPath}\n`);
  return 0;
}

async function down(name: string): Promise<number> {
  const { namespaces, processes } = await Lab.down(name);
  say(
    namespaces.length === 0
      ? `lab '${name}' was not up; nothing to remove`
      : `lab '${name}' down: removed ${namespaces.length} namespaces, stopped ${processes} processes`,
  );
  return 0;
}

async function status(name: string): Promise<number> {
  const lab = Lab.attach(name);
  const rows = await lab.status();
  const lines = [
    `lab '${name}' up (${lab.layout.subnet}, controller side ${lab.layout.controllerAddress}, init ${lab.init})`,
  ];
  for (const r of rows) {
    const init = r.init === lab.init ? '' : `  init ${r.init}`;
    const system = r.system === undefined ? '' : `  system ${r.system}`;
    const skew = r.skew ? `  skew ${r.skew}s` : '';
    lines.push(
      `  ${r.name.padEnd(12)} ${r.address.padEnd(16)}${init}${system}  sshd ${r.sshd ? 'running' : 'stopped'}  firewalld ${r.firewalld}${skew}`,
    );
  }
  lines.push(`inventory: ${lab.inventoryPath}`, `log in:    ${lab.sshCommand(rows[0]?.name ?? '')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const healthy = (r: (typeof rows)[number]) =>
    r.sshd && r.firewalld === 'running' && (r.system === undefined || r.system === 'running');
  return rows.every(healthy) ? 0 : 1;
}

async function skew(name: string, args: string[]): Promise<number> {
  const [host, seconds] = requirePositionals(args, ['HOST', 'SECONDS'], USAGE);
  const value = Number(seconds);
  if (!Number.isFinite(value) || seconds?.trim() === '')
    throw new InputError(`SECONDS must be a number, got '${seconds}'`);
  const lab = Lab.attach(name);
  await lab.skew(host!, value);
  say(
    value === 0
      ? `${host}: skew removed`
      : `${host}: processes started from now on see the clock ${value > 0 ? '+' : ''}${value} s off`,
  );
  return 0;
}

async function reboot(name: string, hosts: string[], init: string | undefined): Promise<number> {
  requirePositionals(hosts, ['HOST'], USAGE);
  const lab = Lab.attach(name, { allowStopped: true });
  const started = Date.now();
  await lab.reboot(hosts, init === undefined ? {} : { init: validateLabInit(init) });
  say(`${hosts.join(', ')} rebooted and ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

const lab: Command = {
  summary: 'a lab of real hosts on this machine (up, down, status, skew, reboot)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, USAGE);
    const [sub, ...rest] = positionals;
    const name = values.name ?? DEFAULT_LAB;
    if (sub !== 'skew' && sub !== 'reboot' && rest.length > 0)
      throw new InputError(`unexpected argument '${rest[0]}'\n${USAGE}`);
    if (sub !== 'up' && values.hosts !== undefined)
      throw new InputError(`--hosts is only for 'lab up'\n${USAGE}`);
    if (sub !== 'up' && sub !== 'reboot' && values.init !== undefined)
      throw new InputError(`--init is only for 'lab up' and 'lab reboot'\n${USAGE}`);
    switch (sub) {
      case 'up':
        return up(name, values.hosts, values.init);
      case 'reboot':
        return reboot(name, rest, values.init);
      case 'down':
        return down(name);
      case 'status':
        return status(name);
      case 'skew':
        return skew(name, rest);
      default:
        throw new InputError(
          `${sub === undefined ? 'missing' : `unknown`} lab command${sub ? ` '${sub}'` : ''}\n${USAGE}`,
        );
    }
  },
};

export default lab;
