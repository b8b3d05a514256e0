import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalCidr, cidr, cidrProblem } from '../../../../agent/api/cidr.ts';

test('networks and single addresses, IPv4 and IPv6, in one spelling', () => {
  const cases: [string, string][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::/0', '::/0'],
    ['FD00:0:0::/64', 'fd00::/64'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001/128', '2001:db8::2:1/128'],
    ['::ffff:192.0.2.1', '::ffff:c000:201/128'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8/128'],
    ['1::', '1::/128'],
  ];
  for (const [text, canonical] of cases) assert.equal(canonicalCidr(text), canonical, text);
});

test('what is not a network is refused, with the reason', () => {
  const bad: [string, RegExp][] = [
    ['192.168.100.300', /neither an IPv4 nor/],
    ['10.0.0.0/33', /prefix length \/33, above 32/],
    ['fd00::/129', /above 128/],
    ['10.0.0.1/8', /host bits set after \/8: the network is 10\.0\.0\.0\/8/],
    ['fd00::1/64', /the network is fd00::\/64/],
    ['10.0.0.0/08', /prefix length \/08/],
    ['010.0.0.1', /neither an IPv4 nor/],
    ['1::2::3', /neither an IPv4 nor/],
    ['1:2:3:4:5:6:7:8::', /neither an IPv4 nor/],
    ['fe80::1%eth0', /neither an IPv4 nor/],
    ['10.0.0.0/8/8', /more than one/],
    ['', /neither an IPv4 nor/],
    ['example.com', /neither an IPv4 nor/],
    ['1.2.3.4" accept', /neither an IPv4 nor/],
    ['1.2.3.4::', /neither an IPv4 nor/],
  ];
  for (const [text, why] of bad) assert.match(cidrProblem(text) ?? 'accepted', why, text);
});

test("the agent's field takes only the one spelling", () => {
  assert.equal(cidr.safeParse('10.0.0.0/8').success, true);
  assert.equal(cidr.safeParse('fd00::/64').success, true);
  const loose = cidr.safeParse('10.0.0.1');
  assert.equal(loose.success, false);
  assert.match(loose.error!.issues[0]!.message, /must be written 10\.0\.0\.1\/32/);
  assert.equal(cidr.safeParse('10.0.0.1/32 port port="22"').success, false);
});
