import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDbusReply } from '../../../agent/system/dbus-send.ts';

test('parses firewalld zone and service settings as dbus-send prints them', () => {
  const text = readFileSync(
    join(import.meta.dirname, 'fixtures', 'firewalld-zone-and-service.dbus.txt'),
    'utf8',
  );
  const [zone, service] = parseDbusReply(text) as Record<string, unknown>[];
  assert.equal(zone!.target, 'default');
  assert.deepEqual(zone!.services, ['ssh', 'dhcpv6-client']);
  assert.deepEqual(zone!.ports, [
    ['2379', 'tcp'],
    ['2380', 'tcp'],
  ]);
  assert.equal(zone!.masquerade, false);
  assert.deepEqual(service!.ports, [['22', 'tcp']]);
});

test('scalars, empty arrays and strings with quotes inside', () => {
  const text = [
    'method return time=1 sender=:1.0 -> destination=:1.1 serial=2 reply_serial=2',
    '   string "public"',
    '   uint32 7',
    '   boolean true',
    '   array [',
    '   ]',
    '   string "say "hi" twice"',
  ].join('\n');
  assert.deepEqual(parseDbusReply(text), ['public', 7, true, [], 'say "hi" twice']);
});
