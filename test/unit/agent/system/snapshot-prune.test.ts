import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sha256SidecarName, snapshotFileName } from '../../../../agent/api/snapshot.ts';
import { pruneSnapshots } from '../../../../agent/system/snapshot.ts';

const dir = mkdtempSync(join(tmpdir(), 'tskv-prune-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('keep: the newest stay, and the snapshot just taken stays even when its clock-made name reads oldest', async () => {
  const at = (iso: string, rev: number) => snapshotFileName('tok', new Date(iso), rev);
  const older = [
    at('2026-12-04T10:00:00Z', 10),
    at('2026-12-04T11:00:00Z', 11),
    at('2026-12-04T12:00:00Z', 12),
  ];
  // The host's clock was stepped back before this one was taken.
  const taken = at('2026-12-04T09:00:00Z', 13);
  for (const name of [...older, taken]) {
    writeFileSync(join(dir, name), 'x');
    writeFileSync(join(dir, sha256SidecarName(name)), 'x');
  }
  const removed = await pruneSnapshots(dir, 2, taken);
  assert.deepEqual(removed.sort(), [older[0]!, older[1]!].map((n) => join(dir, n)).sort());
  const left = readdirSync(dir).filter((n) => n.endsWith('.db'));
  assert.deepEqual(left.sort(), [older[2]!, taken].sort());
  // Removed by another run meanwhile: not an error.
  assert.deepEqual(await pruneSnapshots(dir, 5, taken), []);
});
