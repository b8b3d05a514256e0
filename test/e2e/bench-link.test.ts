/**
 * The link bench's measuring on a real lab (issue 16): the controller link is shaped in the lab's
 * namespace only, OpenSSH through the lab's proxy command (the way tskv and the Ansible playbook
 * reach the hosts) is counted on the shaped interface, the run's CPU and peak RSS are measured,
 * and removing the shaping leaves the lab's bridge as it was. One host, no deploy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../controller/inventory/load.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { runOk } from '../../lab/run.ts';
import { sshCommonArgs } from '../../scripts/bench/ansible-inventory.ts';
import { parseLinkRate, shapedRate, shapeLink, unshapeLink } from '../../scripts/bench/link-shape.ts';
import { UsageMeter } from '../../scripts/bench/usage.ts';

const NAME = 'sh-link';
const PAYLOAD = 4_000_000;

/** Every qdisc of this machine's own network namespace, to prove the shaping never touches it. */
const ownQdiscs = () => runOk('tc', ['-j', 'qdisc', 'show']);

describe('link bench: shaping and measuring on a lab', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let meter: UsageMeter;
  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    meter = new UsageMeter(NAME);
  });
  after(async () => {
    await Lab.down(NAME);
    meter?.close();
  });

  test('a tbf on the lab bridge only; SSH through the proxy counted there, with CPU and RSS', async () => {
    const netns = lab.layout.netns;
    const qdisc = () => runOk('tc', ['-n', netns, '-j', 'qdisc', 'show', 'dev', 'br0']);
    const before = await ownQdiscs();
    assert.equal(shapedRate(await qdisc()), undefined);

    await shapeLink(netns, parseLinkRate('20mbit'));
    await shapeLink(netns, parseLinkRate('20mbit')); // a second time replaces it
    assert.equal(shapedRate(await qdisc()), 20_000_000);
    assert.equal(await ownQdiscs(), before, "this machine's own queues are untouched");

    const inv = await loadInventory(lab.inventoryPath);
    const ssh = inv.hosts[0]!.ssh;
    const target = `${ssh.user}@${inv.hosts[0]!.address}`;
    const key = ssh.identityFile ? `-i '${ssh.identityFile}'` : '';
    const send = `head -c ${PAYLOAD} /dev/urandom | ssh ${key} ${sshCommonArgs(inv)} ${target} 'cat > /dev/null'`;
    const r = await meter.exec(netns)('sh', ['-c', send]);
    assert.equal(r.code, 0, r.stderr);
    const usage = r.usage!;
    assert.ok(usage.sentBytes >= PAYLOAD, `counted ${usage.sentBytes} bytes sent, want >= ${PAYLOAD}`);
    assert.ok(usage.sentBytes < PAYLOAD * 1.5, `counted ${usage.sentBytes} bytes sent for ${PAYLOAD}`);
    assert.ok(usage.cpuMs > 0, `CPU ${usage.cpuMs} ms`);
    assert.ok(usage.maxRssKb > 0, `peak RSS ${usage.maxRssKb} KB`);
    if (meter.cgroup) assert.match(meter.cpuSource, /cgroup/);

    await unshapeLink(netns);
    await unshapeLink(netns); // nothing left to remove: no error
    assert.equal(shapedRate(await qdisc()), undefined);
    assert.equal(await ownQdiscs(), before);
  });
});
