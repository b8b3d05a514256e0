/** Facts about a real etcd on loopback (skipped when no etcd binary is installed here). */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../../agent/api/index.ts';
import { portUsage } from '../../../agent/handlers/ports.ts';
import { ownerName, userName } from '../../../agent/system/accounts.ts';
import { findEtcdBinary } from '../../../agent/system/etcd.ts';
import { withFreePorts } from '../../fixtures/free-port.ts';
import { until } from '../../fixtures/wait.ts';
import { type RunningAgent, startAgent } from './start-agent.ts';

const etcd = await findEtcdBinary();

describe('facts with a running etcd', { skip: etcd ? undefined : 'no etcd binary on this machine' }, () => {
  let agent: RunningAgent;
  let proc: ChildProcess;
  let dir: string;
  let ports: [number, number];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-facts-etcd-'));
    await withFreePorts(2, async (clientPort, peerPort) => {
      ports = [clientPort, peerPort];
      rmSync(join(dir, 'data'), { recursive: true, force: true }); // an earlier try's
      const [client, peer] = ports.map((p) => `http://127.0.0.1:${p}`);
      const etcdProc = spawn(
        etcd!,
        [
          `--name=t1`,
          `--data-dir=${join(dir, 'data')}`,
          `--listen-client-urls=${client}`,
          `--advertise-client-urls=${client}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=t1=${peer}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      proc = etcdProc;
      let log = '';
      etcdProc.stderr!.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-2000);
      });
      await until('etcd to listen on its ports', async () => {
        if (etcdProc.exitCode !== null || etcdProc.signalCode !== null)
          throw new Error(`etcd exited: ${log}`);
        const usage = await portUsage(ports);
        return usage.every((u) => u.listeners.some((l) => l.pid === etcdProc.pid));
      }).catch((err: unknown) => {
        etcdProc.kill('SIGKILL');
        throw err;
      });
    });
    agent = await startAgent();
  });
  after(async () => {
    proc?.kill('SIGKILL');
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reports the binary, the process with its ports, and the data dir with data', async () => {
    const dataDir = join(dir, 'data');
    const deadline = Date.now() + 15_000;
    let etcdFacts = (await agent.client.call(routes.facts, { dataDir })).etcd;
    const listening = () => etcdFacts.running.find((r) => r.pid === proc.pid)?.listenPorts.length === 2;
    while (!(listening() && etcdFacts.dataDir.hasData) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      etcdFacts = (await agent.client.call(routes.facts, { dataDir })).etcd;
    }
    assert.equal(etcdFacts.installed?.path, etcd);
    assert.match(etcdFacts.installed?.version ?? '', /^3\.\d+\.\d+/);
    assert.deepEqual(
      etcdFacts.running.find((r) => r.pid === proc.pid),
      {
        pid: proc.pid,
        command: 'etcd',
        listenPorts: [...ports].sort((a, b) => a - b),
        user: await userName(process.getuid?.() ?? 0),
      },
    );
    assert.deepEqual(etcdFacts.dataDir, {
      path: dataDir,
      exists: true,
      hasData: true,
      owner: await ownerName(process.getuid?.() ?? 0, process.getgid?.() ?? 0),
      mode: 0o700,
    });
  });
});

describe('serve --owner', { skip: process.getuid?.() === 0 ? undefined : 'needs root to chown' }, () => {
  test('hands the socket and its directory to the given uid', async () => {
    const agent = await startAgent(undefined, ['--owner', '65534']);
    try {
      assert.equal(statSync(agent.socket).uid, 65534);
      assert.equal(statSync(join(agent.socket, '..')).uid, 65534);
      assert.equal(statSync(join(agent.socket, '../..')).mode & 0o777, 0o711);
    } finally {
      await agent.stop();
    }
    assert.equal(existsSync(agent.socket), false);
  });
});
