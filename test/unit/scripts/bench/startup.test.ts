/** The start-up bench's table (issue 16, "Start-up"). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatStartupReport } from '../../../../scripts/bench/startup-bench.ts';
import { summarize } from '../../../../scripts/bench/stats.ts';

describe('start-up report', () => {
  test('a row per way with its median, range and how many times the fastest it takes', () => {
    const text = formatStartupReport(
      [
        { name: 'npx tskv', command: 'npx tskv', summary: summarize([900, 1000, 950]) },
        { name: 'tskv on PATH', command: 'ln -s …', summary: summarize([400, 380, 390], 1) },
      ],
      3,
    );
    const [head, npx, onPath] = text.trimEnd().split('\n');
    assert.match(head ?? '', /3 runs each/);
    assert.match(npx ?? '', /npx tskv\s+950 ms\s+\(900 ms-1000 ms\)\s+2\.44x/);
    assert.match(onPath ?? '', /tskv on PATH\s+390 ms\s+\(380 ms-400 ms\)\s+1\.00x, 1 failed/);
  });

  test('a way with no successful run says so', () => {
    const text = formatStartupReport([{ name: 'npx tskv', command: 'npx tskv', summary: undefined }], 2);
    assert.match(text, /npx tskv\s+failed/);
  });
});
