/**
 * The start script's protocol, run by sh on this machine: what it reports missing, and the header
 * it insists on (the full install and start: bootstrap.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { residentPaths } from '../../../../controller/agent-client/resident.ts';
import { startScript } from '../../../../controller/agent-client/start-script.ts';
import { LocalConnection } from './local-connection.ts';

const root = mkdtempSync(join(tmpdir(), 'tskv-start-script-'));
const sha = 'a'.repeat(64);

/** Run the script in `dir` with `stdin`; its stdout, stderr and exit code. */
function run(dir: string, stdin: string): Promise<{ out: string; err: string; code: number }> {
  const script = startScript({
    runtime: { path: `${dir}/node-0123456789abcdef`, size: 5, sha256: sha },
    code: { path: `${dir}/tskv-agent-fedcba9876543210`, size: 3, sha256: sha },
    resident: residentPaths(join(root, 'run'), 'fedcba9876543210', 'tester'),
    idleTimeoutS: 60,
  });
  return new LocalConnection()
    .exec(script, { stdin })
    .then((r) => ({ out: r.stdout, err: r.stderr, code: r.code }));
}

const missing = (out: string) => JSON.parse(out.split('\n')[0]!) as Record<string, unknown>;

describe('the agent start script', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a bare host lacks both files; `skip` leaves no install dir', async () => {
    const dir = join(root, 'bare');
    const r = await run(dir, 'skip\n');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      { runtime: missing(r.out)['runtime'], code: missing(r.out)['code'] },
      { runtime: true, code: true },
    );
    assert.deepEqual(readdirSync(root).includes('bare'), false);
  });

  test('a host with the runtime (its size) lacks only the code; a runtime of another size is replaced', async () => {
    const dir = join(root, 'has-runtime');
    mkdirSync(dir);
    writeFileSync(join(dir, 'node-0123456789abcdef'), '12345');
    const r = await run(dir, 'skip\n');
    assert.deepEqual(
      { runtime: missing(r.out)['runtime'], code: missing(r.out)['code'] },
      { runtime: false, code: true },
    );
    writeFileSync(join(dir, 'node-0123456789abcdef'), '1234');
    assert.equal(missing((await run(dir, 'skip\n')).out)['runtime'], true);
  });

  test('a header for another file than the one expected next is refused (exit 2)', async () => {
    const r = await run(join(root, 'order'), 'code zstd 3\nabc');
    assert.equal(r.code, 2);
    assert.match(r.err, /expected the runtime, got 'code'/);
  });

  test('a payload size that is not a number is refused (exit 2)', async () => {
    const r = await run(join(root, 'size'), 'runtime zstd 12x\n');
    assert.equal(r.code, 2);
    assert.match(r.err, /bad payload size '12x'/);
  });
});
