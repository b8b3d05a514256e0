/**
 * The resident agent on a real lab host, through sessions as commands open them: the second
 * command reaches the agent the first one started, concurrent commands start one agent between
 * them, and a socket left by a killed agent is replaced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../agent/api/index.ts';
import type { Inventory } from '../../controller/inventory/model.ts';
import { openSession } from '../../controller/plays/session.ts';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';

const NAME = 'resid';
const AGENTS = 'tskv-agen[t]-[0-9a-f]* serve';

describe('resident agent on a lab host', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let host: LabHost;
  let inventory: Inventory;

  /** One session: whether it started the agent, and the agent's pid as the agent reports it. */
  async function session(): Promise<{ started: boolean; pid: number }> {
    const s = await openSession(inventory, 'silent');
    try {
      const ch = s.hosts.get('h102');
      assert.ok(ch, `h102 unreachable: ${JSON.stringify(s.unreachable)}`);
      return { started: ch.agentStarted, pid: (await ch.agent.call(routes.version, {})).pid };
    } finally {
      await s.close();
    }
  }

  const runningAgents = async () => (await host.exec(`pgrep -f "${AGENTS}"`)).stdout.trim();

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    host = lab.host('h102');
    inventory = await lab.inventory();
  });
  after(() => Lab.down(NAME));

  test('the second command reaches the agent the first one started, without starting one', async () => {
    const first = await session();
    assert.equal(first.started, true);
    assert.equal(await runningAgents(), String(first.pid), 'the agent outlived its session');
    const second = await session();
    assert.deepEqual(second, { started: false, pid: first.pid });
    assert.equal(await runningAgents(), String(first.pid));
  });

  test('concurrent commands start one agent between them', async () => {
    await host.execOk('rm -f /run/tskv/agent-*/agent.sock');
    await host.waitFor('the unreachable agent to exit', `! pgrep -f "${AGENTS}"`);
    const runs = await Promise.all([session(), session(), session()]);
    assert.equal(new Set(runs.map((r) => r.pid)).size, 1, JSON.stringify(runs));
    assert.equal(runs.filter((r) => r.started).length, 1, JSON.stringify(runs));
    assert.equal(await runningAgents(), String(runs[0]!.pid));
  });

  test('a socket left by a killed agent is replaced by the next command', async () => {
    const before = await session();
    assert.equal(await host.kill(AGENTS), 1);
    await host.waitFor('the killed agent to be gone', `! pgrep -f "${AGENTS}"`);
    assert.equal((await host.exec('test -S /run/tskv/agent-*-root/agent.sock')).code, 0, 'a stale socket');
    const after = await session();
    assert.equal(after.started, true);
    assert.notEqual(after.pid, before.pid);
    assert.equal(await runningAgents(), String(after.pid));
  });
});
