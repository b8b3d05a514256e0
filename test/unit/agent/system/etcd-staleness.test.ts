import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { staleness } from '../../../../agent/system/etcd-staleness.ts';

test('stale when the env file or unit changed after the start, or the link moved to another version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-stale-'));
  try {
    const envFile = join(dir, 'etcd.env');
    const unitFile = join(dir, 'etcd.service');
    const [v1, v2, binary] = ['v1-etcd', 'v2-etcd', 'etcd'].map((f) => join(dir, f)) as [
      string,
      string,
      string,
    ];
    for (const f of [envFile, unitFile, v1, v2]) writeFileSync(f, '');
    symlinkSync(v1, binary);
    const startedAtMs = Date.now();
    const earlier = new Date(startedAtMs - 60_000);
    for (const f of [envFile, unitFile]) utimesSync(f, earlier, earlier);
    const files = { envFile, binary, unitFile };
    assert.equal(staleness(v1, startedAtMs, files), undefined);
    const later = new Date(startedAtMs + 1000);
    utimesSync(envFile, later, later);
    assert.equal(staleness(v1, startedAtMs, files), `${envFile} changed after etcd started`);
    utimesSync(envFile, earlier, earlier);
    utimesSync(unitFile, later, later);
    assert.equal(staleness(v1, startedAtMs, files), `${unitFile} changed after etcd started`);
    utimesSync(unitFile, earlier, earlier);
    unlinkSync(binary);
    symlinkSync(v2, binary);
    assert.equal(staleness(v1, startedAtMs, files), `etcd runs ${v1}, ${binary} is now ${v2}`);
    assert.equal(staleness(v2, startedAtMs, files), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
