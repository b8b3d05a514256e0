import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFirewall } from '../../../../agent/system/firewall-detect.ts';
import { readTcpListeners } from '../../../../agent/system/proc-net.ts';

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

test('concurrent readings of the listening sockets share one; a later one reads again', async () => {
  const first = readTcpListeners();
  assert.equal(readTcpListeners(), first, 'facts and the probes of one preflight walk /proc/net/tcp once');
  assert.ok(Array.isArray(await first));
  const later = readTcpListeners();
  assert.notEqual(later, first);
  await later;
});
