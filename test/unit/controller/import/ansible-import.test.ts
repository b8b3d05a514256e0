import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readAnsibleInventory } from '../../../../controller/commands/import.ts';
import { parseAnsibleIni } from '../../../../controller/import/ansible-ini.ts';
import { expandHostPattern } from '../../../../controller/import/ansible-ranges.ts';
import { hostVars } from '../../../../controller/import/ansible-resolve.ts';
import { parseSshArgs, type SshArgs } from '../../../../controller/import/ansible-ssh-args.ts';
import { parseAnsibleYaml } from '../../../../controller/import/ansible-yaml.ts';
import { toTskvInventory } from '../../../../controller/import/to-tskv.ts';
import { inventorySchema } from '../../../../controller/inventory/schema.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => join(FIXTURES, name);
interface ImportedDoc {
  ssh?: Record<string, unknown>;
  hosts: Record<string, { address: string; ssh?: Record<string, unknown> }>;
}
const OPTIONS = { group: 'etcd', etcdVersion: '3.5.29' };

function imported(file: string, group = 'etcd') {
  const result = toTskvInventory(readAnsibleInventory(fixture(file)), { ...OPTIONS, group });
  return { ...result, doc: parse(result.text) as ImportedDoc };
}

describe('tskv import ansible: kubespray sample inventory.ini', () => {
  it('the sample as shipped (every host commented out) is refused: the etcd group has no hosts', () => {
    assert.throws(
      () => imported('kubespray-sample.ini'),
      /kubespray-sample\.ini: group 'etcd' has no hosts \(commented out\?\)/,
    );
  });

  it('filled in, its etcd group becomes a valid tskv inventory with the ansible_host addresses', () => {
    const { doc, hosts, text } = imported('kubespray-filled.ini');
    assert.deepEqual(hosts, ['node1', 'node2', 'node3']);
    assert.deepEqual(doc.hosts, {
      node1: { address: '95.54.0.12' },
      node2: { address: '95.54.0.13' },
      node3: { address: '95.54.0.14' },
    });
    assert.equal(doc.ssh, undefined, 'nothing about SSH in the sample: tskv defaults');
    assert.ok(inventorySchema.safeParse(doc).success, text);
    assert.match(text, /^# Imported by 'tskv import ansible' from .*kubespray-filled\.ini, group etcd\./);
  });

  it('groups, children and the bastion group are read', () => {
    const inv = readAnsibleInventory(fixture('kubespray-filled.ini'));
    assert.deepEqual(
      [...inv.groups.get('k8s-cluster')!.children],
      ['kube_control_plane', 'kube-node', 'calico-rr'],
    );
    assert.deepEqual(
      { ...hostVars(inv, 'bastion') },
      { ansible_host: '95.54.0.10', ansible_user: 'some_user' },
    );
    const all = imported('kubespray-filled.ini', 'k8s-cluster');
    assert.deepEqual(all.hosts, ['node1', 'node2', 'node3', 'node4', 'node5', 'node6']);
  });

  it("kubespray's own YAML sample (hosts written as a plain list) is refused naming the file and line", () => {
    assert.throws(
      () => readAnsibleInventory(fixture('kubespray-sample.yml')),
      /kubespray-sample\.yml:20: etcd's hosts must be a map of host names/,
    );
  });
});

describe('tskv import ansible: YAML inventory behind a bastion', () => {
  it('carries user, key, port, ProxyJump and known_hosts; names what it cannot carry', () => {
    const { doc, hosts, notes, text } = imported('bastion.yaml');
    assert.deepEqual(hosts, [
      'db1.internal.example.com',
      'db2.internal.example.com',
      'db3.internal.example.com',
    ]);
    assert.deepEqual(doc.ssh, {
      proxyJump: 'deploy@jump.example.com:2222',
      knownHosts: '/etc/tskv/known_hosts',
      port: 2200,
      user: 'deploy',
      identityFile: '~/.ssh/deploy_ed25519',
    });
    assert.deepEqual(doc.hosts['db2.internal.example.com'], { address: 'db2.internal.example.com' });
    assert.deepEqual(notes, [
      'ansible_ssh_common_args option -o ServerAliveInterval=30 (all hosts)',
      'etcd_data_dir="/srv/etcd" (all hosts)',
    ]);
    assert.match(
      text,
      /# Not carried over:\n# {3}ansible_ssh_common_args option -o ServerAliveInterval=30 \(all hosts\)/,
    );
  });
});

describe('Ansible INI', () => {
  it('host vars on the line, quotes, host:port, [group:vars] and precedence (host > child group > parent > all)', () => {
    const inv = parseAnsibleIni(
      [
        'loose ansible_host=10.0.0.9',
        '[etcd]',
        'e[1:2] ansible_user="deploy user"',
        'e3:2222 ansible_ssh_common_args=\'-o ProxyCommand="ssh -W %h:%p -q bastion"\'',
        '[etcd:vars]',
        'ansible_port=2200',
        'ansible_user=ops',
        '[db:children]',
        'etcd',
        '[db:vars]',
        'ansible_port=22',
        'ansible_become=True',
        '[all:vars]',
        'ansible_python_interpreter=/usr/bin/python3',
      ].join('\n'),
      'x.ini',
    );
    assert.deepEqual(
      { ...hostVars(inv, 'e1') },
      {
        ansible_python_interpreter: '/usr/bin/python3',
        ansible_port: 2200,
        ansible_become: true,
        ansible_user: 'deploy user',
      },
    );
    assert.equal(hostVars(inv, 'e3').ansible_port, 2222);
    assert.equal(hostVars(inv, 'loose').ansible_host, '10.0.0.9');
    const { hosts, text } = toTskvInventory(inv, OPTIONS);
    assert.deepEqual(hosts, ['e1', 'e2', 'e3']);
    const doc = parse(text);
    assert.equal(doc.hosts.e3.ssh.proxyCommand, 'ssh -W %h:%p -q bastion');
    assert.equal(doc.hosts.e3.ssh.port, 2222);
    assert.equal(doc.hosts.e1.ssh.port, 2200);
  });

  it('etcd as children of the control plane group (a stacked-etcd layout); a relative key path is named', () => {
    const inv = parseAnsibleIni(
      '[kube_control_plane]\ncp[1:3] ansible_ssh_private_key_file=keys/id\n[etcd:children]\nkube_control_plane\n[kube_node]\nw1\n',
      'x.ini',
    );
    const { hosts, notes } = toTskvInventory(inv, OPTIONS);
    assert.deepEqual(hosts, ['cp1', 'cp2', 'cp3']);
    assert.deepEqual(notes, [
      'identityFile keys/id is relative: Ansible reads it from where it runs, tskv beside the inventory it wrote (all hosts)',
    ]);
  });

  it('etcd_member_name names the member; passwords are named but never printed', () => {
    const inv = parseAnsibleIni(
      '[etcd]\nn1 ansible_host=10.0.0.1 etcd_member_name=etcd1 ansible_password=hunter2\n',
      'x.ini',
    );
    const { text } = toTskvInventory(inv, OPTIONS);
    assert.deepEqual(parse(text).hosts, { etcd1: { address: '10.0.0.1' } });
    assert.match(text, /ansible_password \(value not shown\) \(n1\)/);
    assert.doesNotMatch(text, /hunter2/);
  });

  for (const [input, error] of [
    ['[etcd\nh1', /x\.ini:1: '\[etcd' is not a section header/],
    ['[etcd:hosts]\nh1', /x\.ini:1: section \[etcd:hosts\]: expected :vars or :children/],
    [
      '[etcd]\n\nh1 ansible_port',
      /x\.ini:3: expected key=value host variable assignment, got 'ansible_port'/,
    ],
    ['[etcd]\nh1 ansible_user="deploy', /x\.ini:2: unterminated " quote/],
    ['[etcd:vars]\nnot a var', /x\.ini:2: expected key=value in \[etcd:vars\]/],
    ['[etcd]\nh[3:1]', /x\.ini:2: 'h\[3:1\]': the range must count upwards/],
  ] as const) {
    it(`refuses ${JSON.stringify(input)} naming the file and line`, () => {
      assert.throws(() => parseAnsibleIni(input, 'x.ini'), error);
    });
  }

  it('a missing group is named with the groups there are', () => {
    assert.throws(
      () => toTskvInventory(parseAnsibleIni('[db]\nh1\n', 'x.ini'), OPTIONS),
      /x\.ini: has no group 'etcd' \(its groups: db\); choose one with --group/,
    );
  });
});

describe('Ansible YAML', () => {
  it('a syntax error names the file and line', () => {
    assert.throws(
      () => parseAnsibleYaml('all:\n  hosts:\n    a: [\n', 'y.yml'),
      /y\.yml:\d+: YAML syntax error/,
    );
  });
  it('an unknown key in a group names the line', () => {
    assert.throws(
      () => parseAnsibleYaml('all:\n  children:\n    etcd:\n      host:\n        a:\n', 'y.yml'),
      /y\.yml:4: group etcd has 'host'/,
    );
  });
});

describe('ranges and ssh args', () => {
  it('expands numeric, zero-padded, stepped and letter ranges', () => {
    assert.deepEqual(expandHostPattern('n[1:3]'), { hosts: ['n1', 'n2', 'n3'] });
    assert.deepEqual(expandHostPattern('n[08:10]x'), { hosts: ['n08x', 'n09x', 'n10x'] });
    assert.deepEqual(expandHostPattern('n[1:5:2]'), { hosts: ['n1', 'n3', 'n5'] });
    assert.deepEqual(expandHostPattern('[a:c]db'), { hosts: ['adb', 'bdb', 'cdb'] });
  });
  it('reads -J, -o K=V, -o "K V", -p and drops the rest', () => {
    assert.deepEqual(
      parseSshArgs(
        '-J a@b -o StrictHostKeyChecking=accept-new -o "ConnectTimeout 7" -p 2 -C -oForwardAgent=yes',
      ),
      {
        proxyJump: 'a@b',
        hostKeyPolicy: 'accept-new',
        connectTimeout: 7,
        port: 2,
        dropped: ['-C', '-o ForwardAgent=yes'],
      },
    );
    assert.deepEqual((parseSshArgs('-o StrictHostKeyChecking=no') as SshArgs).dropped, [
      '-o StrictHostKeyChecking=no (tskv always verifies host keys)',
    ]);
  });
});
