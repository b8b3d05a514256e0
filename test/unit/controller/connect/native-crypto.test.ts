import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

test("ssh2 uses its native crypto in this Node (npm prepare rebuilds it for the pinned Node's ABI)", () => {
  const crypto = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js') as {
    bindingAvailable: boolean;
  };
  assert.equal(crypto.bindingAvailable, true, 'run scripts/native-deps.ts (npm ci runs it)');
});
