import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../../../agent/api/index.ts';
import { processAlive } from '../../../../agent/system/proc-stat.ts';
import {
  type AgentHandle,
  type EnsureAgentOptions,
  ensureAgent,
} from '../../../../controller/agent-client/bootstrap.ts';
import { TskvError } from '../../../../controller/errors.ts';
import { buildAgent, DIST, otherCodeBuild } from '../../../fixtures/built-agent.ts';
import { until } from '../../../fixtures/wait.ts';
import { LocalConnection } from './local-connection.ts';

const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('ensureAgent (on this machine, through a local HostConnection)', () => {
  let manifest: AgentManifest;
  let root: string;
  let installDir: string;
  let runDir: string;
  /** Agents started here, stopped at the end (the others lose their sockets with `root` and exit). */
  const pids = new Set<number>();
  before(() => {
    manifest = buildAgent();
    root = mkdtempSync(join(tmpdir(), 'tskv-bootstrap-'));
    installDir = join(root, 'lib/agent');
    runDir = join(root, 'run');
  });
  after(() => {
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  /** ensureAgent as user 'tester', into `installDir` and `runDir` unless the options say otherwise. */
  async function ensure(
    conn: LocalConnection,
    options: Partial<EnsureAgentOptions> = {},
  ): Promise<AgentHandle> {
    const handle = await ensureAgent(conn, {
      sshUser: 'tester',
      manifest,
      distDir: DIST,
      installDir,
      runDir,
      idleTimeoutS: 120,
      ...options,
    });
    pids.add(handle.pid);
    return handle;
  }

  /**
   * A copy of the build whose packed code (zstd, or gzip) is `damage`d; the manifest announces its
   * new size. The runtime's files are the built ones.
   */
  function damagedBuild(
    name: string,
    damage: (packed: Buffer) => Buffer,
    which: 'compressed' | 'fallback' = 'compressed',
  ): Pick<EnsureAgentOptions, 'manifest' | 'distDir'> {
    const packed = manifest.code[which];
    const bytes = damage(readFileSync(join(DIST, packed.file)));
    const distDir = join(root, `dist-${name}`);
    mkdirSync(distDir, { recursive: true });
    writeFileSync(join(distDir, packed.file), bytes);
    for (const f of [manifest.runtime.compressed.file, manifest.runtime.fallback.file]) {
      symlinkSync(join(DIST, f), join(distDir, f));
    }
    const code = { ...manifest.code, [which]: { ...packed, size: bytes.length } };
    return { manifest: { ...manifest, code }, distDir };
  }

  /**
   * ensureAgent fails with E_AGENT_INSTALL at `step`, and leaves no code and no temporary file (the
   * runtime, received whole and checked before the code, stays: the damaged builds below share one
   * install dir, and only the first of them sends the runtime).
   */
  async function assertInstallFails(
    conn: LocalConnection,
    build: Pick<EnsureAgentOptions, 'manifest' | 'distDir'>,
    dir: string,
    step: string,
    message: RegExp,
  ): Promise<void> {
    await assert.rejects(
      ensure(conn, { ...build, installDir: dir, runDir: `${dir}-run` }),
      (err: unknown) => {
        assert.ok(err instanceof TskvError, String(err));
        assert.equal(err.code, 'E_AGENT_INSTALL');
        assert.equal(err.host, 'local');
        assert.equal(err.step, step);
        assert.match(err.message, message);
        return true;
      },
    );
    assert.deepEqual(listing(dir), [manifest.runtime.file]);
  }

  test('pushes and starts the agent on one channel; the next run reaches it without running anything', async () => {
    const conn = new LocalConnection();
    const first = await ensure(conn);
    try {
      assert.equal(first.uploaded, true);
      assert.deepEqual(first.sentFiles, ['runtime', 'code']);
      assert.equal(first.sentBytes, manifest.runtime.compressed.size + manifest.code.compressed.size);
      assert.equal(first.started, true);
      assert.equal(conn.commands.length, 1, 'one command: report missing, receive, unpack, start');
      assert.deepEqual(conn.uploads, []);
      const v = await first.client.call(routes.version, {});
      assert.equal(v.buildId, manifest.buildId);
      assert.equal(v.pid, first.pid);
      assert.deepEqual(listing(installDir), [manifest.runtime.file, 'package.json', manifest.code.file]);
      assert.equal(statSync(`${installDir}/${manifest.runtime.file}`).mode & 0o777, 0o755);
      assert.equal(statSync(`${installDir}/${manifest.code.file}`).mode & 0o777, 0o644);
      assert.equal(statSync(installDir).mode & 0o777, 0o700);
      assert.equal(first.socket, `${runDir}/agent-${manifest.buildId}-tester/agent.sock`);
      assert.equal(statSync(first.socket).mode & 0o777, 0o600);
      assert.equal(statSync(join(first.socket, '..')).mode & 0o777, 0o700);
    } finally {
      await first.close();
    }
    assert.equal(processAlive(first.pid), true, 'the agent outlives the run that started it');

    const second = await ensure(conn);
    try {
      assert.deepEqual(
        {
          uploaded: second.uploaded,
          sentBytes: second.sentBytes,
          started: second.started,
          pid: second.pid,
          commands: conn.commands.length,
        },
        { uploaded: false, sentBytes: 0, started: false, pid: first.pid, commands: 1 },
      );
      assert.equal((await second.client.call(routes.clock, {})).wallMs > 0, true);
    } finally {
      await second.close();
    }
  });

  test('a new build on a host that has its runtime sends only the code; the running older code stays', async () => {
    const other = otherCodeBuild(manifest, join(root, 'dist-other'), 'code-only');
    const conn = new LocalConnection();
    const handle = await ensure(conn, { manifest: other, distDir: join(root, 'dist-other') });
    try {
      assert.deepEqual(
        { sentFiles: handle.sentFiles, sentBytes: handle.sentBytes, started: handle.started },
        { sentFiles: ['code'], sentBytes: other.code.compressed.size, started: true },
      );
      assert.equal((await handle.client.call(routes.version, {})).buildId, other.buildId);
    } finally {
      await handle.close();
    }
    // The first test's agent still runs the first build's code: an install leaves it.
    assert.deepEqual(
      listing(installDir),
      [manifest.runtime.file, 'package.json', manifest.code.file, other.code.file].sort(),
    );
  });

  test('concurrent runs start one agent between them', async () => {
    const dir = join(root, 'run-concurrent');
    const [a, b] = await Promise.all([
      ensure(new LocalConnection(), { runDir: dir }),
      ensure(new LocalConnection(), { runDir: dir }),
    ]);
    try {
      assert.equal(a.pid, b.pid);
      assert.deepEqual([a.started, b.started].sort(), [false, true]);
      const log = readFileSync(`${dir}/agent-${manifest.buildId}-tester.log`, 'utf8');
      assert.equal(log.match(/serving on/g)?.length, 1, log);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('an agent exits after its idle time; the next run starts a new one', async () => {
    const dir = join(root, 'run-idle');
    const conn = new LocalConnection();
    const first = await ensure(conn, { runDir: dir, idleTimeoutS: 1 });
    await first.client.call(routes.version, {});
    await first.close();
    await until('the idle agent to exit', () => !processAlive(first.pid));
    assert.equal(existsSync(first.socket), false);
    const second = await ensure(conn, { runDir: dir });
    try {
      assert.equal(second.started, true);
      assert.notEqual(second.pid, first.pid);
      assert.equal(conn.commands.length, 2);
    } finally {
      await second.close();
    }
  });

  test('an agent outlives its idle time while a command holds it, however long the command pauses', async () => {
    const conn = new LocalConnection();
    const held = await ensure(conn, { runDir: join(root, 'run-held'), idleTimeoutS: 1 });
    try {
      // A pause longer than the idle time (an operator at a confirmation prompt), no call meanwhile.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(processAlive(held.pid), true, 'still serving');
      assert.equal((await held.client.call(routes.version, {})).pid, held.pid);
    } finally {
      await held.close();
    }
    await until('the released agent to exit after its idle time', () => !processAlive(held.pid));
  });

  test("a killed agent's socket is replaced by the next start", async () => {
    const dir = join(root, 'run-killed');
    const conn = new LocalConnection();
    const first = await ensure(conn, { runDir: dir });
    await first.close();
    process.kill(first.pid, 'SIGKILL');
    await until('the killed agent to be gone', () => !processAlive(first.pid));
    assert.equal(existsSync(first.socket), true, 'a stale socket is left behind');
    const second = await ensure(conn, { runDir: dir });
    try {
      assert.equal(second.started, true);
      assert.equal((await second.client.call(routes.version, {})).pid, second.pid);
    } finally {
      await second.close();
    }
  });

  test('falls back to gzip without zstd and removes older builds', async () => {
    const dir = join(root, 'gz');
    const old = [join(dir, 'tskv-agent-0123456789abcdef'), join(dir, 'node-0123456789abcdef')];
    const conn = new LocalConnection({ binDir: join(root, 'bin-nozstd'), hide: ['zstd'] });
    await conn.exec(`mkdir -p ${dir} && echo old > ${old[0]} && echo old > ${old[1]}`);
    const handle = await ensure(conn, { installDir: dir, runDir: join(root, 'run-gz') });
    try {
      assert.equal(handle.uploaded, true);
      assert.equal(handle.sentBytes, manifest.runtime.fallback.size + manifest.code.fallback.size);
      assert.equal((await handle.client.call(routes.version, {})).buildId, manifest.buildId);
    } finally {
      await handle.close();
    }
    assert.equal(conn.commands.length, 2, 'the setup command, then one for the agent');
    assert.deepEqual(listing(dir), [manifest.runtime.file, 'package.json', manifest.code.file]);
  });

  test("installing a build leaves other builds' lock files and recent logs, and clears their stale leftovers", async () => {
    const run = join(root, 'run-others');
    const conn = new LocalConnection();
    const other = (suffix: string) => join(run, `agent-0123456789abcdef-tester${suffix}`);
    await conn.exec(
      `mkdir -p ${run} ${other('')}-stale && : > ${other('.lock')} && : > ${other('.log')} && : > ${other('-old.log')}` +
        ` && touch -d '20 minutes ago' ${other('-old.log')} ${other('')}-stale ${other('.lock')}`,
    );
    const handle = await ensure(conn, { installDir: join(root, 'install-others'), runDir: run });
    await handle.close();
    assert.equal(handle.uploaded, true);
    const left = listing(run).filter((f) => f.startsWith('agent-0123456789abcdef'));
    // A start of that build may hold its lock right now; its log was written moments ago.
    assert.deepEqual(left.sort(), [
      'agent-0123456789abcdef-tester.lock',
      'agent-0123456789abcdef-tester.log',
    ]);
  });

  test('a corrupt zstd payload fails on its checksum, naming the step and zstd, and leaves nothing', async () => {
    const build = damagedBuild('corrupt', (b) => {
      b.fill(0x58, Math.floor(b.length / 2), Math.floor(b.length / 2) + 8);
      return b;
    });
    await assertInstallFails(
      new LocalConnection(),
      build,
      join(root, 'damaged'),
      'agent: unpack',
      /Restored data doesn't match checksum|Corrupted block|Data corruption detected/,
    );
  });

  test('a truncated zstd payload fails, and leaves nothing', async () => {
    const build = damagedBuild('trunc', (b) => b.subarray(0, Math.floor(b.length * 0.6)));
    await assertInstallFails(
      new LocalConnection(),
      build,
      join(root, 'damaged'),
      'agent: unpack',
      /premature end/,
    );
  });

  test('a truncated gzip payload fails, and leaves nothing', async () => {
    const build = damagedBuild('trunc-gz', (b) => b.subarray(0, Math.floor(b.length * 0.6)), 'fallback');
    const conn = new LocalConnection({ binDir: join(root, 'bin-nozstd-2'), hide: ['zstd'] });
    await assertInstallFails(
      conn,
      build,
      join(root, 'damaged'),
      'agent: unpack',
      /gzip: .*\.tmp\.gzip: unexpected end of file/,
    );
  });

  test('an unpacked size other than the manifest says fails the size check, and leaves nothing', async () => {
    const { size } = manifest.code;
    const build = { manifest: { ...manifest, code: { ...manifest.code, size: size + 1 } }, distDir: DIST };
    await assertInstallFails(
      new LocalConnection(),
      build,
      join(root, 'damaged'),
      'agent: check the unpacked size',
      new RegExp(`the unpacked code has ${size} bytes, the build has ${size + 1}`),
    );
  });

  test("an unpacked file whose sha256 is not the build's is refused, and leaves nothing", async () => {
    const sha256 = 'f'.repeat(64);
    const build = { manifest: { ...manifest, code: { ...manifest.code, sha256 } }, distDir: DIST };
    await assertInstallFails(
      new LocalConnection(),
      build,
      join(root, 'damaged'),
      'agent: check the sha256',
      new RegExp(`the unpacked code has sha256 ${manifest.code.sha256}, the build has ${sha256}`),
    );
  });

  test('a local file shorter than the manifest says ends the upload; the host cleans up', async () => {
    const build = damagedBuild('short', (b) => b.subarray(0, Math.floor(b.length * 0.6)));
    const announced = { ...build.manifest!, code: manifest.code };
    await assertInstallFails(
      new LocalConnection(),
      { manifest: announced, distDir: build.distDir! },
      join(root, 'damaged'),
      'agent: send the agent',
      /it has \d+ bytes, \d+ were announced; the host's install script ended with code 4: .*received \d+ of the code's \d+ bytes/s,
    );
  });

  test('a missing local build: the waiting script is told to skip, nothing is installed', async () => {
    const conn = new LocalConnection();
    const dir = join(root, 'not-built');
    await assert.rejects(
      ensure(conn, {
        distDir: join(root, 'empty-dist'),
        installDir: dir,
        runDir: join(root, 'run-not-built'),
      }),
      (err: unknown) => err instanceof TskvError && err.code === 'E_AGENT_NOT_BUILT' && err.host === 'local',
    );
    assert.equal(conn.commands.length, 1);
    assert.equal(existsSync(dir), false);
  });

  test('a host without flock fails the start clearly', async () => {
    const conn = new LocalConnection({ binDir: join(root, 'bin-noflock'), hide: ['flock'] });
    await assert.rejects(ensure(conn, { runDir: join(root, 'run-noflock') }), (err: unknown) => {
      assert.ok(err instanceof TskvError, String(err));
      assert.equal(err.code, 'E_AGENT_START');
      assert.match(err.message, /needs flock and setsid \(util-linux\)/);
      return true;
    });
  });

  test('version skew replaces the binary once, then fails clearly', async () => {
    const conn = new LocalConnection();
    const wrong = { ...manifest, buildId: 'ffffffffffffffff' };
    await assert.rejects(
      ensure(conn, { manifest: wrong, installDir: join(root, 'skew') }),
      (err: unknown) =>
        err instanceof TskvError &&
        err.code === 'E_AGENT_VERSION' &&
        err.host === 'local' &&
        err.message.includes(`agent build ${manifest.buildId}, expected ffffffffffffffff`),
    );
    assert.equal(
      conn.commands.length,
      3,
      'push and start; remove the mismatched code and socket; push and start',
    );
    assert.match(conn.commands[1]!, /^rm -f /);
  });
});
