import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { assertDeployed, curlJson, deploy, etcdPids, type V3Member } from './deploy-helpers.ts';

const NAME = 'e2e-deploy35';

describe('tskv deploy on the lab (etcd 3.5 tarball)', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up({ name: NAME, fresh: true });
  });
  after(() => Lab.down(NAME));

  test('fresh 3.5 deploy is healthy with the inventory as member list, and a re-run changes nothing', async () => {
    const tarball = await lab.etcdTarball('3.5');
    const inventory = lab.writeInventory({ etcd: { version: tarball.version, source: tarball.path } });
    const run = await deploy(inventory);
    assertDeployed(run);
    assert.ok(
      run.doc.verify!.members.every((m) => m.version === tarball.version),
      JSON.stringify(run.doc.verify),
    );
    const v2 = await curlJson<{ members: V3Member[] }>(
      lab.host('docker'),
      'http://127.0.0.1:2379/v2/members',
    );
    assert.deepEqual(v2.members.map((m) => m.name).sort(), ['docker', 'h102', 'h104']);
    for (const h of lab.hosts) {
      assert.equal(
        (await h.execOk('ps -o user= -p $(pgrep -x etcd)')).trim(),
        'etcd',
        `${h.name}: 3.5 as etcd`,
      );
      assert.equal(
        (await h.execOk(`stat -c '%U:%G %a' /var/lib/etcd/${h.name}.etcd`)).trim(),
        'etcd:etcd 700',
      );
    }
    const pids = await etcdPids(lab);
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual(await etcdPids(lab), pids);
  });
});
