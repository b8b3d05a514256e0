/** The agent as a resident process: it outlives its stdin, exits once idle, and never takes a live socket. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../../agent/api/index.ts';
import { type RunningAgent, startAgent } from './start-agent.ts';

/** The exit code, or a failure naming `what` after `timeoutMs`. */
async function exitWithin(agent: RunningAgent, what: string, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([agent.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('resident agent', () => {
  let root: string;
  const started: RunningAgent[] = [];
  const start = async (socket: string, extraArgs: string[] = []) => {
    const agent = await startAgent(undefined, extraArgs, socket);
    started.push(agent);
    return agent;
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tskv-resident-'));
  });
  after(async () => {
    await Promise.all(started.map((a) => a.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  test('exits by itself after its idle time without a connection, and removes its socket', async () => {
    const socket = join(root, 'idle/agent.sock');
    const agent = await start(socket, ['--idle-timeout', '1']);
    agent.child.stdin?.end();
    assert.equal((await agent.client.call(routes.version, {})).pid, agent.child.pid);
    await agent.client.close();
    assert.equal(await exitWithin(agent, 'the idle agent', 10_000), 0);
    assert.equal(existsSync(socket), false);
    assert.match(agent.stderr(), /stopping: no connection for 1 s/);
  });

  test('a second agent for a live socket says so and leaves it to the first', async () => {
    const socket = join(root, 'live/agent.sock');
    const first = await start(socket);
    const inode = statSync(socket).ino;
    const second = await start(socket);
    assert.deepEqual(second.ready, { alreadyRunning: true, socket });
    assert.equal(await exitWithin(second, 'the second agent', 10_000), 0);
    assert.equal(statSync(socket).ino, inode);
    assert.equal((await first.client.call(routes.version, {})).pid, first.child.pid);
  });

  test('a socket left by a killed agent is replaced', async () => {
    const socket = join(root, 'stale/agent.sock');
    const dead = await start(socket);
    dead.child.kill('SIGKILL');
    await dead.exited;
    assert.equal(existsSync(socket), true, 'SIGKILL leaves the socket behind');
    const fresh = await start(socket);
    assert.equal(fresh.ready['ready'], true);
    assert.equal((await fresh.client.call(routes.version, {})).pid, fresh.child.pid);
  });

  test('an agent whose socket was replaced exits without waiting out its idle time, leaving the new one be', async () => {
    const socket = join(root, 'replaced/agent.sock');
    const old = await start(socket, ['--idle-timeout', '600']);
    unlinkSync(socket);
    const fresh = await start(socket);
    assert.equal(fresh.ready['ready'], true);
    assert.equal(await exitWithin(old, 'the unreachable agent', 15_000), 0);
    assert.match(old.stderr(), /stopping: socket removed or replaced/);
    assert.equal((await fresh.client.call(routes.version, {})).pid, fresh.child.pid);
  });

  test('--idle-timeout must be a positive whole number', async () => {
    await assert.rejects(
      start(join(root, 'bad/agent.sock'), ['--idle-timeout', '0']),
      /positive whole number/,
    );
  });
});
