/**
 * With TLS on, the firewalls let the peer port in only from the members and the client port from
 * cluster.clientSources and the members: rich rules, runtime and permanent, and the zone-wide
 * openings an older deploy made closed once they are in. h105, a lab host outside the cluster,
 * is refused; the members reach each other (preflight's probes pass); a second deploy changes
 * nothing; a member that joins (replace) is let in before it is added. Init-less hosts:
 * nothing here needs systemd.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';
import { assertOk } from './replace-helpers.ts';

const NAME = 'e2e-tls-firewall';
/** Networks no lab host is in, IPv4 and IPv6: the client port is then the members' alone. */
const ELSEWHERE = ['203.0.113.0/24', '2001:db8::/64'];

interface PreflightDoc {
  checks: { host: string; check: string; status: string; observed: string }[];
}

describe('TLS narrows the firewalls: the peer port to the members, the client port to clientSources', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let inventory: string;
  const tls = { mode: 'auto' as const, dir: 'fw.pki' };

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102', 'docker', 'h104', 'h105'], fresh: true });
    inventory = lab.writeInventory(
      { tls, cluster: { clientSources: ELSEWHERE }, hosts: { h105: null } },
      'fw.yaml',
    );
  });
  after(() => Lab.down(NAME));

  const members = () => ['h102', 'docker', 'h104'].map((n) => lab.host(n));
  const net = (h: LabHost) => `${h.address}/32`;
  /** A TCP connection from `from` to `to`:`port` within 3 s: true when it was accepted. */
  const connects = async (from: LabHost, to: LabHost, port: number) =>
    (await from.exec(`timeout 3 bash -c '</dev/tcp/${to.address}/${port}'`)).code === 0;
  const zone = (h: LabHost, permanent = false) =>
    h.execOk(`firewall-cmd ${permanent ? '--permanent ' : ''}--list-all`);
  const richRule = (port: number, h: LabHost) =>
    `rule family="ipv4" source address="${net(h)}" port port="${port}" protocol="tcp" accept`;

  test("an older deploy's zone-wide openings, and a rule for a host that is no member, are replaced by the members' rules", async () => {
    const h105 = lab.host('h105');
    // What an older tskv (or a TLS-off deploy) left, and the rule of a member that left since.
    // Over D-Bus with busctl, runtime and permanent: each firewall-cmd would be a Python start.
    const older = [
      'B="busctl call org.fedoraproject.FirewallD1" R=/org/fedoraproject/FirewallD1 I=org.fedoraproject.FirewallD1',
      "Z=$($B $R/config $I.config getZoneByName s public | cut -d'\"' -f2)",
      ...[2379, 2380].flatMap((p) => [
        `$B $R $I.zone addPort sssi public ${p} tcp 0`,
        `$B $Z $I.config.zone addPort ss ${p} tcp`,
      ]),
      `$B $R $I.zone addRichRule ssi public '${richRule(2380, h105)}' 0`,
      `$B $Z $I.config.zone addRichRule s '${richRule(2380, h105)}'`,
    ].join(' && ');
    await Promise.all(members().map((h) => h.execOk(`(${older}) >/dev/null`)));
    assert.match(await zone(lab.host('h102'), true), /ports: 2379\/tcp 2380\/tcp/);
    assert.equal(await connects(h105, lab.host('docker'), 2380), false, 'nothing listens yet');
    const run = await deploy(inventory);
    assertDeployed(run);
    for (const h of members()) {
      const said = (run.doc.actions[h.name] ?? []).join('\n');
      assert.match(said, /close 2380\/tcp to other sources in firewalld zone public \(runtime\)/, h.name);
      assert.match(said, /close 2379\/tcp to other sources in firewalld zone public \(permanent\)/, h.name);
      assert.match(
        said,
        new RegExp(`letting ${h105.address.replaceAll('.', '\\.')}/32 in on 2380/tcp`),
        h.name,
      );
      for (const permanent of [false, true]) {
        const listing = await zone(h, permanent);
        assert.match(
          listing,
          /^\s+ports: *$/m,
          `${h.name} ${permanent ? 'permanent' : 'runtime'}: ${listing}`,
        );
        for (const m of members()) {
          assert.ok(listing.includes(richRule(2380, m)), `${h.name} lets ${m.name} in on 2380: ${listing}`);
          assert.ok(listing.includes(richRule(2379, m)), `${h.name} lets ${m.name} in on 2379: ${listing}`);
        }
        assert.ok(listing.includes('source address="2001:db8::/64" port port="2379"'), listing);
        assert.ok(!listing.includes(h105.address), `no rule for h105 is left on ${h.name}: ${listing}`);
      }
    }
  });

  test('h105 is refused on both ports of every member; the members reach each other, and preflight says so', async () => {
    const h105 = lab.host('h105');
    for (const m of members()) {
      assert.equal(await connects(h105, m, 2380), false, `h105 → ${m.name}:2380`);
      assert.equal(await connects(h105, m, 2379), false, `h105 → ${m.name}:2379`);
    }
    const [h102, docker] = members();
    assert.equal(await connects(h102!, docker!, 2380), true, 'h102 → docker:2380');
    assert.equal(await connects(docker!, h102!, 2379), true, 'docker → h102:2379');
    const pre = await tskv(['preflight', inventory, '--json']);
    assert.equal(pre.code, 0, pre.stdout + pre.stderr);
    const { checks } = JSON.parse(pre.stdout) as PreflightDoc;
    const reach = checks.filter((c) => c.check === 'reachability');
    assert.equal(reach.length, 12, 'every member to every other, on both ports');
    assert.deepEqual(
      reach.filter((c) => c.status !== 'ok'),
      [],
    );
    const firewall = checks.filter((c) => c.check === 'firewall');
    assert.deepEqual(
      firewall.map((c) => `${c.status} ${c.observed}`),
      members().flatMap(() => [
        'ok 2379/tcp let in from 5 sources (firewalld zone public)',
        'ok 2380/tcp let in from 3 sources (firewalld zone public)',
      ]),
    );
  });

  test('a second deploy changes nothing and says so', async () => {
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test('clientSources naming h105: the client port lets it in, the peer port still does not', async () => {
    const h105 = lab.host('h105');
    const wider = lab.writeInventory(
      { tls, cluster: { clientSources: [...ELSEWHERE, net(h105)] }, hosts: { h105: null } },
      'fw-h105.yaml',
    );
    const run = await deploy(wider);
    assertDeployed(run);
    for (const m of members()) {
      assert.deepEqual(run.doc.actions[m.name], [
        `let 2379/tcp in from ${net(h105)} in firewalld zone public (runtime)`,
        `let 2379/tcp in from ${net(h105)} in firewalld zone public (permanent)`,
      ]);
      assert.equal(await connects(h105, m, 2379), true, `h105 → ${m.name}:2379`);
      assert.equal(await connects(h105, m, 2380), false, `h105 → ${m.name}:2380`);
    }
  });

  test('replace h104 by h105: every member lets h105 in before it joins', async () => {
    const [h102, docker, h104] = members();
    const h105 = lab.host('h105');
    const all = lab.writeInventory({ tls, cluster: { clientSources: ELSEWHERE } }, 'fw-all.yaml');
    const r = await tskv(['replace', all, 'h104=h105', '--yes']);
    assertOk(r, 'replace h104=h105');
    assert.match(r.stdout, /let h105 \(\S+\) in through every member's firewall on 2380\/tcp/);
    for (const h of [h102!, docker!]) {
      assert.ok((await zone(h, true)).includes(richRule(2380, h105)), `${h.name} lets h105 in, saved too`);
      assert.equal(await connects(h105, h, 2380), true, `h105 → ${h.name}:2380`);
    }
    // h104 left, but this inventory still names it: its rules stay until one drops it (the first
    // test shows deploy removing the rule of a host that is no member).
    assert.equal(await connects(h104!, h102!, 2380), true, 'h104 → h102:2380');
  });
});
