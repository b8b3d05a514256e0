import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFirewall } from '../../../agent/system/firewall.ts';

test('concurrent firewall readings share one; a reading after it settled reads again', async () => {
  const first = detectFirewall();
  const concurrent = detectFirewall();
  assert.equal(concurrent, first, 'facts and the firewall state of one preflight ask firewalld once');
  const detection = await first;
  assert.ok(detection.backend);
  const later = detectFirewall();
  assert.notEqual(later, first, 'a later call sees changes made since');
  await later;
});
