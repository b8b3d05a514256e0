import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatMemberAddEnv,
  formatMemberAdded,
  formatMemberList,
  goQuote,
} from '../../../../controller/etcd/format.ts';
import { hexToId } from '../../../../controller/etcd/ids.ts';
import { type EtcdMember, findMember, normaliseMember } from '../../../../controller/etcd/members.ts';
import { formatMemberListV2 } from './etcd-v2.ts';

const member = (hex: string, name: string, ip: string, extra: Partial<EtcdMember> = {}): EtcdMember => ({
  ...normaliseMember({
    ID: hexToId(hex),
    ...(name ? { name, clientURLs: [`http://${ip}:2379`] } : {}),
    peerURLs: [`http://${ip}:2380`],
  }),
  ...extra,
});

// The seed's cluster after `member add new-h102` (before new-h102 started).
const SEED_AFTER_ADD = [
  member('1b80a88a471eb4b8', 'h104', '192.168.100.104'),
  member('940f6e83e019a03f', 'docker', '192.168.100.103'),
  member('cdc1e5e338e27adc', '', '192.168.100.102'),
];

describe('etcdctl output formats', () => {
  test('member list (v3 simple output), unstarted member included', () => {
    assert.equal(
      formatMemberList(SEED_AFTER_ADD),
      [
        '1b80a88a471eb4b8, started, h104, http://192.168.100.104:2380, http://192.168.100.104:2379, false',
        '940f6e83e019a03f, started, docker, http://192.168.100.103:2380, http://192.168.100.103:2379, false',
        'cdc1e5e338e27adc, unstarted, , http://192.168.100.102:2380, , false',
      ].join('\n'),
    );
  });

  test('member list in the seed (etcd 2.x) form', () => {
    assert.equal(
      formatMemberListV2(SEED_AFTER_ADD),
      [
        '1b80a88a471eb4b8: name=h104 peerURLs=http://192.168.100.104:2380 clientURLs=http://192.168.100.104:2379',
        '940f6e83e019a03f: name=docker peerURLs=http://192.168.100.103:2380 clientURLs=http://192.168.100.103:2379',
        'cdc1e5e338e27adc[unstarted]: peerURLs=http://192.168.100.102:2380',
      ].join('\n'),
    );
  });

  test('member add env block, as in the seed plus etcd 3.x ADVERTISE line', () => {
    const text = formatMemberAddEnv('new-h102', SEED_AFTER_ADD, ['http://192.168.100.102:2380']);
    assert.equal(
      text,
      [
        '',
        'ETCD_NAME="new-h102"',
        'ETCD_INITIAL_CLUSTER="h104=http://192.168.100.104:2380,docker=http://192.168.100.103:2380,new-h102=http://192.168.100.102:2380"',
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://192.168.100.102:2380"',
        'ETCD_INITIAL_CLUSTER_STATE="existing"',
      ].join('\n'),
    );
    // By ID gives the same answer.
    assert.equal(
      formatMemberAddEnv(
        'new-h102',
        SEED_AFTER_ADD,
        ['http://192.168.100.102:2380'],
        hexToId('cdc1e5e338e27adc'),
      ),
      text,
    );
  });

  test('member added line pads IDs like %16x; learner wording is 3.6+', () => {
    const id = hexToId('cdc1e5e338e27adc');
    const cluster = hexToId('74de06e38ff30a0');
    assert.equal(
      formatMemberAdded(id, cluster, false),
      'Member cdc1e5e338e27adc added to cluster  74de06e38ff30a0',
    );
    assert.equal(
      formatMemberAdded(id, cluster, true),
      'Member cdc1e5e338e27adc added to cluster  74de06e38ff30a0',
    );
    assert.equal(
      formatMemberAdded(id, cluster, true, { learnerWording: true }),
      'Member cdc1e5e338e27adc added as learner to cluster  74de06e38ff30a0',
    );
  });

  test('goQuote escapes like Go %q', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('x\ny\u0001'), '"x\\ny\\x01"');
  });

  test('findMember by name, hex or decimal ID', () => {
    assert.equal(findMember(SEED_AFTER_ADD, 'docker')?.idHex, '940f6e83e019a03f');
    assert.equal(findMember(SEED_AFTER_ADD, 'CDC1E5E338E27ADC')?.name, '');
    assert.equal(findMember(SEED_AFTER_ADD, hexToId('1b80a88a471eb4b8'))?.name, 'h104');
    assert.equal(findMember(SEED_AFTER_ADD, 'h102'), undefined);
  });
});
