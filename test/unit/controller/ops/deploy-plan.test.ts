import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Inventory } from '../../../../controller/inventory/model.ts';
import { decideClusterMode } from '../../../../controller/ops/cluster-mode.ts';
import { keepInitialSettings } from '../../../../controller/ops/config.ts';
import {
  changeCount,
  type DeployStep,
  type HostInput,
  isNoop,
  planDeploy,
  stepsOf,
} from '../../../../controller/ops/deploy-plan.ts';
import { checkVersionChange } from '../../../../controller/ops/install.ts';
import { formatPlan } from '../../../../controller/plan/print.ts';
import { bareHost, convergedHost, exposureOf, facts, member, seedInventory } from './deploy-fixtures.ts';

const names = ['docker', 'h102', 'h104'];

/** The seed's three members, each with its data on its host, running or not as `hosts` say. */
function everyMemberRunning(inv: Inventory, hosts: HostInput[]) {
  return decideClusterMode(
    inv,
    hosts.map((h) => ({ name: h.spec.name, running: h.running, hasData: true, strayPids: [] })),
    names.map((n) => member(inv, n)),
    { allowExistingData: false },
  );
}

/** The plan with every member running, `leader` leading. */
function runningPlan(inv: Inventory, hosts: HostInput[], leader: string) {
  return planDeploy({
    inv,
    hosts,
    decision: everyMemberRunning(inv, hosts),
    leader,
    exposure: exposureOf(inv),
  });
}

describe('planDeploy', () => {
  test('bare hosts: install, open ports, write config, start all together with state new', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => bareHost(inv, n));
    const decision = decideClusterMode(inv, [], undefined, { allowExistingData: false });
    const plan = planDeploy({ inv, hosts, decision, leader: undefined, exposure: exposureOf(inv) });
    assert.equal(plan.mode.kind, 'new');
    assert.deepEqual(plan.starts, names);
    assert.deepEqual(plan.restarts, []);
    for (const h of names) {
      const steps = stepsOf(plan, h);
      assert.deepEqual(
        steps.map((s) => s.kind),
        ['install', 'firewall', 'config', 'start'],
      );
      assert.match(steps[0]!.title, /^install etcd 3\.4\.23 at \/usr\/local\/bin\/etcd$/);
      assert.match(steps[1]!.title, /^open 2379\/tcp 2380\/tcp \(firewalld zone public/);
      assert.match(steps[2]!.diff!, /^--- \/dev\/null\n\+\+\+ \/etc\/etcd\/etcd.env\n@@ -0,0 \+1,\d+ @@/);
      assert.match(steps[2]!.diff!, /\+ETCD_INITIAL_CLUSTER_STATE="new"/);
    }
    const config = (h: string) =>
      stepsOf(plan, h).find((s) => s.kind === 'config') as Extract<DeployStep, { kind: 'config' }>;
    assert.match(config('h102').env, /ETCD_NAME="h102"/);
    assert.ok(!plan.steps.some((s) => s.kind === 'unit'), 'no systemd: no unit');
    // Every host is prepared side by side, then every member starts together.
    assert.deepEqual(
      [...new Set(plan.steps.map((s) => s.together))],
      [
        'install etcd, open the firewall, write configuration',
        'start all members together (--initial-cluster-state new)',
      ],
    );
    const text = formatPlan(plan);
    assert.match(text, /^plan \(bootstrapping a new cluster\):/);
    assert.match(text, /12 changes on 3 hosts$/m);
  });

  test('a converged cluster plans nothing and says so', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => convergedHost(inv, n));
    const decision = everyMemberRunning(inv, hosts);
    const plan = planDeploy({ inv, hosts, decision, leader: 'h102', exposure: exposureOf(inv) });
    assert.ok(isNoop(plan));
    assert.equal(formatPlan(plan), 'nothing to do: 3 hosts converged\n');
  });

  test('a changed flag restarts every running member one at a time, the leader last', async () => {
    const inv = await seedInventory((i) => {
      i.etcd.flags['heartbeat-interval'] = 200;
    });
    const before = await seedInventory();
    const hosts = names.map((n) => convergedHost(before, n));
    const decision = everyMemberRunning(inv, hosts);
    const plan = planDeploy({ inv, hosts, decision, leader: 'docker', exposure: exposureOf(inv) });
    assert.deepEqual(plan.restarts, ['h102', 'h104', 'docker']);
    const docker = stepsOf(plan, 'docker');
    assert.deepEqual(
      docker.map((s) => s.kind),
      ['config', 'restart'],
    );
    assert.match(docker[0]!.diff!, /^\+ETCD_HEARTBEAT_INTERVAL="200"$/m);
    // One member at a time: each one's config right before its own restart, nothing side by side.
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind} ${s.host}${s.together ? ' (together)' : ''}`),
      ['config h102', 'restart h102', 'config h104', 'restart h104', 'config docker', 'restart docker'],
    );
    assert.match(formatPlan(plan), /restart order: h102 → h104 → docker/);
  });

  test('a per-host change restarts only that host', async () => {
    const inv = await seedInventory((i) => {
      i.hosts.find((h) => h.name === 'h104')!.dataDir = '/srv/etcd';
    });
    const before = await seedInventory();
    const hosts = names.map((n) => convergedHost(before, n));
    const decision = everyMemberRunning(inv, hosts);
    const plan = planDeploy({ inv, hosts, decision, leader: 'h104', exposure: exposureOf(inv) });
    assert.deepEqual(plan.restarts, ['h104']);
    assert.equal(changeCount(plan), 2);
  });

  test('a member whose files are right but whose etcd predates them (an interrupted run) is restarted', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => convergedHost(inv, n));
    hosts[0] = { ...hosts[0]!, stale: '/etc/etcd/etcd.env changed after etcd started' };
    const plan = runningPlan(inv, hosts, 'h102');
    assert.deepEqual(plan.restarts, ['docker']);
    assert.deepEqual(
      stepsOf(plan, 'docker').map((s) => s.title),
      [
        'restart etcd (/etc/etcd/etcd.env changed after etcd started; one member at a time, healthy before the next)',
      ],
    );
  });

  test("members an older tskv runs as root: each one's env file made etcd's, then its restart, one at a time, leader last", async () => {
    const inv = await seedInventory();
    // What an older tskv left: etcd as root, its data root's, the env file 0644 root:root.
    const hosts = names.map((n) => ({
      ...convergedHost(inv, n),
      facts: facts({ installed: inv.etcd.version, hasData: true, dataOwner: 'root:root' }),
      envAccess: { mode: 0o644, owner: 'root:root' },
      runsAs: 'root',
    }));
    const plan = runningPlan(inv, hosts, 'h102');
    assert.deepEqual(plan.restarts, ['docker', 'h104', 'h102']);
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind} ${s.host}${s.together ? ' (together)' : ''}`),
      ['config docker', 'restart docker', 'config h104', 'restart h104', 'config h102', 'restart h102'],
    );
    const [config, restart] = stepsOf(plan, 'h104');
    assert.equal(
      config!.title,
      'set /etc/etcd/etcd.env to 0640 root:etcd (was 0644 root:root) (readable by root and etcd only)',
    );
    assert.equal(config!.diff, '', 'the content stays');
    assert.equal(
      restart!.title,
      'restart etcd (run etcd as user etcd, not root, hand /var/lib/etcd to etcd:etcd 0700 (was root:root 0700); one member at a time, healthy before the next)',
    );
    assert.match(formatPlan(plan), /running \(pid 100, user root\)/);

    // Once run: converged, nothing to do.
    const after = names.map((n) => convergedHost(inv, n));
    assert.ok(isNoop(runningPlan(inv, after, 'h102')));
  });

  test('a member running as etcd with its env file still 0644: the file only, no restart', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => convergedHost(inv, n));
    hosts[1] = { ...hosts[1]!, envAccess: { mode: 0o644, owner: 'root:root' } };
    const plan = runningPlan(inv, hosts, 'h102');
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind} ${s.host}`),
      ['config h102'],
    );
    assert.deepEqual(plan.restarts, []);
  });

  test("a stopped member whose data is root's: its start hands the data dir over", async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => convergedHost(inv, n));
    hosts[2] = {
      ...hosts[2]!,
      running: false,
      pid: null,
      runsAs: undefined,
      facts: facts({ installed: inv.etcd.version, hasData: true, dataOwner: 'root:root' }),
    };
    const plan = runningPlan(inv, hosts, 'h102');
    assert.deepEqual(
      stepsOf(plan, 'h104').map((s) => s.title),
      ['start etcd; hand /var/lib/etcd to etcd:etcd 0700 (was root:root 0700)'],
    );
  });

  test('a stopped member of a running cluster is started, its file left as it is', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => convergedHost(inv, n));
    hosts[2] = { ...hosts[2]!, running: false, pid: null };
    const plan = runningPlan(inv, hosts, 'h102');
    assert.deepEqual(plan.starts, ['h104']);
    assert.deepEqual(
      stepsOf(plan, 'h104').map((s) => s.kind),
      ['start'],
    );
  });

  test('a member of the static bootstrap that never started gets state new (it joins late)', async () => {
    const inv = await seedInventory();
    const hosts = [convergedHost(inv, 'docker'), convergedHost(inv, 'h102'), bareHost(inv, 'h104')];
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: h.running, hasData: h.running, strayPids: [] })),
      [member(inv, 'docker'), member(inv, 'h102'), member(inv, 'h104', 'late')],
      { allowExistingData: false },
    );
    const plan = planDeploy({ inv, hosts, decision, leader: 'h102', exposure: exposureOf(inv) });
    assert.equal(plan.mode.kind, 'existing');
    assert.deepEqual(plan.starts, ['h104']);
    const config = stepsOf(plan, 'h104').find((s) => s.kind === 'config') as Extract<
      DeployStep,
      { kind: 'config' }
    >;
    assert.match(config.env, /^ETCD_INITIAL_CLUSTER_STATE="new"$/m);
  });

  test('systemd hosts get a unit; a version change restarts', async () => {
    const inv = await seedInventory((i) => {
      i.etcd.version = '3.5.30';
    });
    const old = await seedInventory();
    const h = {
      ...convergedHost(old, 'h102'),
      facts: facts({ installed: '3.4.23', hasData: true, systemd: true }),
    };
    const decision = decideClusterMode(
      inv,
      [{ name: 'h102', running: true, hasData: true, strayPids: [] }],
      names.map((n) => member(inv, n)),
      { allowExistingData: false },
    );
    const plan = planDeploy({ inv, hosts: [h], decision, leader: undefined, exposure: exposureOf(inv) });
    const steps = stepsOf(plan, 'h102');
    const unit = steps.find((s) => s.kind === 'unit') as Extract<DeployStep, { kind: 'unit' }>;
    assert.match(unit.unit, /EnvironmentFile=\/etc\/etcd\/etcd.env/);
    assert.deepEqual(
      steps.map((s) => s.kind),
      ['install', 'unit', 'restart'],
    );
    assert.match(steps[0]!.title, /^stage etcd 3\.5\.30 beside 3\.4\.23/);
    assert.match(steps.at(-1)!.title, /^switch to etcd 3\.5\.30 and restart/);
  });

  test('a clock problem is planned first', async () => {
    const inv = await seedInventory();
    const h = { ...convergedHost(inv, 'h102'), clockProblem: 'offset +4.400s' };
    const decision = decideClusterMode(
      inv,
      [],
      [member(inv, 'h102'), member(inv, 'docker'), member(inv, 'h104')],
      {
        allowExistingData: false,
      },
    );
    const plan = planDeploy({ inv, hosts: [h], decision, leader: undefined, exposure: exposureOf(inv) });
    assert.deepEqual(
      stepsOf(plan, 'h102').map((s) => s.title),
      ['sync the clock (offset +4.400s)'],
    );
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['clock', 'clock-check'],
    );
  });
});

test('a member with data keeps its ETCD_INITIAL_* lines: a replaced peer does not rewrite or restart it', () => {
  const current =
    'ETCD_NAME="a"\nETCD_INITIAL_CLUSTER="a=http://1:2380,old=http://2:2380"\nETCD_INITIAL_CLUSTER_STATE="new"\n';
  const desired = {
    env: 'ETCD_NAME="a"\nETCD_INITIAL_CLUSTER="a=http://1:2380,new=http://2:2380"\nETCD_INITIAL_CLUSTER_STATE="new"\n',
    unit: undefined,
    state: 'new' as const,
  };
  assert.equal(keepInitialSettings(desired, current).env, current);
  const flagChanged = { ...desired, env: `${desired.env}ETCD_ENABLE_V2="true"\n` };
  assert.equal(keepInitialSettings(flagChanged, current).env, `${current}ETCD_ENABLE_V2="true"\n`);
  assert.equal(keepInitialSettings(desired, undefined).env, desired.env);
});

test('etcd versions: patch changes and one minor up are fine; a minor downgrade or skip over data is refused', () => {
  assert.doesNotThrow(() => checkVersionChange('h', '3.4.23', '3.4.30'));
  assert.doesNotThrow(() => checkVersionChange('h', '3.4.23', '3.5.30'));
  assert.doesNotThrow(() => checkVersionChange('h', '3.5.30', '3.5.16'));
  assert.throws(() => checkVersionChange('h', '3.5.30', '3.4.23'), {
    code: 'E_VERSION_CHANGE',
    message: /minor-version downgrade/,
  });
  assert.throws(() => checkVersionChange('h', '3.4.23', '3.6.1'), {
    code: 'E_VERSION_CHANGE',
    message: /skip of a minor version/,
  });
});
