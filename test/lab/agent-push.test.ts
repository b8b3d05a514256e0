/**
 * Pushing the agent to a bare lab host on the start script's own channel: what the unit tests
 * cannot show, a full disk on the host and a non-root SSH user going through sudo.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../agent/api/index.ts';
import {
  DEFAULT_INSTALL_DIR,
  DEFAULT_RUN_DIR,
  ensureAgent,
} from '../../controller/agent-client/bootstrap.ts';
import { connect, type HostConnection } from '../../controller/connect/index.ts';
import type { HostSpec } from '../../controller/inventory/model.ts';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { buildAgent } from '../fixtures/built-agent.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';

const NAME = 'apush';
const env = {}; // no ssh-agent: the inventory's key only
const skip = labUnavailableReason();

describe('agent push on a bare lab host', { skip: skip ?? false }, () => {
  let lab: Lab;
  let host: LabHost;
  let spec: HostSpec;
  let manifest: AgentManifest;

  const installDirListing = async () =>
    (await host.execOk(`mkdir -p ${DEFAULT_INSTALL_DIR} && ls -A ${DEFAULT_INSTALL_DIR}`)).trim();

  async function withConnection<T>(s: HostSpec, work: (conn: HostConnection) => Promise<T>): Promise<T> {
    const conn = await connect(s, { env });
    try {
      return await work(conn);
    } finally {
      conn.close();
    }
  }

  before(async () => {
    manifest = buildAgent();
    lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    host = lab.host('h102');
    spec = (await lab.inventory()).hosts[0]!;
  });
  after(() => Lab.down(NAME));

  test('a full disk fails naming host, step and the cause, and leaves no temporary file', async () => {
    await host.execOk(
      `mkdir -p ${DEFAULT_INSTALL_DIR} && mount -t tmpfs -o size=16m tmpfs ${DEFAULT_INSTALL_DIR}`,
    );
    try {
      await withConnection(spec, async (conn) => {
        const err = await expectTskvError(ensureAgent(conn, { sshUser: spec.ssh.user }));
        assert.equal(err.code, 'E_AGENT_INSTALL');
        assert.equal(err.host, 'h102');
        assert.equal(err.step, 'agent: unpack');
        assert.match(err.message, /No space left on device/, err.message);
        assert.match(err.fix ?? '', /df -h \/var\/lib\/tskv\/agent/);
        assert.equal(await installDirListing(), '');
        // The failed push's channel is gone: the same connection still runs commands.
        assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
      });
    } finally {
      await host.execOk(`umount ${DEFAULT_INSTALL_DIR}`);
    }
  });

  test('a non-root user: pushed and started through sudo, root-owned, its socket theirs and reused', async () => {
    await host.addUser('ops', 'nopasswd');
    const ops = { ...spec, ssh: { ...spec.ssh, user: 'ops' } };
    const first = await withConnection(ops, async (conn) => {
      assert.equal(conn.viaSudo, true);
      const handle = await ensureAgent(conn, { sshUser: 'ops' });
      try {
        assert.equal(handle.uploaded, true);
        // Over streamlocal forwarding, which sshd opens as 'ops': the socket was handed to $SUDO_UID.
        const facts = await handle.client.call(routes.facts, { dataDir: '/var/lib/etcd' });
        assert.equal(facts.isRoot, true);
        assert.equal((await handle.client.call(routes.version, {})).buildId, manifest.buildId);
      } finally {
        await handle.close();
      }
      return handle;
    });
    assert.equal(await installDirListing(), `tskv-agent-${manifest.buildId}`);
    const mode = await host.execOk(`stat -c '%U %a' ${DEFAULT_INSTALL_DIR}/tskv-agent-${manifest.buildId}`);
    assert.equal(mode.trim(), 'root 755');
    const dir = `${DEFAULT_RUN_DIR}/agent-${manifest.buildId}-ops`;
    assert.equal(first.socket, `${dir}/agent.sock`);
    const modes = await host.execOk(`stat -c '%n %U %a' ${DEFAULT_RUN_DIR} ${dir} ${dir}/agent.sock`);
    assert.deepEqual(modes.trim().split('\n'), [
      `${DEFAULT_RUN_DIR} root 711`,
      `${dir} ops 700`,
      `${dir}/agent.sock ops 600`,
    ]);
    assert.equal((await host.execOk(`ps -o user= -p ${first.pid}`)).trim(), 'root');

    // The next command (a new SSH connection) reaches the same agent; root gets an agent of its own.
    await withConnection(ops, async (conn) => {
      const again = await ensureAgent(conn, { sshUser: 'ops' });
      await again.close();
      assert.deepEqual({ started: again.started, pid: again.pid }, { started: false, pid: first.pid });
    });
    await withConnection(spec, async (conn) => {
      const asRoot = await ensureAgent(conn, { sshUser: 'root' });
      await asRoot.close();
      assert.equal(asRoot.started, true);
      assert.notEqual(asRoot.pid, first.pid);
    });
  });
});
