import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import '../../../agent/api/index.ts';

test('the agent API (and so the agent and the controller) runs zod without compiling schemas', () => {
  assert.equal(z.config().jitless, true);
});
