import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { COMMANDS } from '../../../../controller/commands/names.ts';
import type { Command } from '../../../../controller/commands/types.ts';
import { type CommandUsage, candidates } from '../../../../controller/completion/candidates.ts';

const sources = {
  listFiles: (prefix: string) =>
    prefix.startsWith('inv/')
      ? ['inv/prod.yaml', 'inv/notes.txt', 'inv/old/']
      : ['inv/', 'lab.yml', 'README.md'],
  hostsOf: (inventory: string) => (inventory === 'lab.yml' ? ['etcd1', 'etcd2', 'web'] : []),
};

const commands: CommandUsage[] = [];
before(async () => {
  for (const name of COMMANDS) {
    const mod = (await import(`../../../../controller/commands/${name}.ts`)) as { default: Command };
    commands.push({ name, usage: mod.default.usage });
  }
});

const complete = (line: string) => {
  const words = line.split(' ');
  return candidates(words, words.length - 1, commands, sources);
};

describe('tskv completion candidates', () => {
  it('commands, by prefix', () => {
    assert.deepEqual(complete('tskv '), [...COMMANDS]);
    assert.deepEqual(complete('tskv s'), ['ssh-config', 'status', 'snapshot', 'ssh']);
    assert.deepEqual(complete('tskv nope x'), []);
  });
  it('inventory files (YAML and folders) for INVENTORY', () => {
    assert.deepEqual(complete('tskv deploy '), ['inv/', 'lab.yml']);
    assert.deepEqual(complete('tskv status inv/'), ['inv/prod.yaml', 'inv/old/']);
  });
  it("the inventory's hosts for HOST, NAME and --host's value", () => {
    assert.deepEqual(complete('tskv ssh lab.yml '), ['etcd1', 'etcd2', 'web']);
    assert.deepEqual(complete('tskv ssh lab.yml e'), ['etcd1', 'etcd2']);
    assert.deepEqual(complete('tskv etcdctl lab.yml --host w'), ['web']);
    assert.deepEqual(complete('tskv member remove lab.yml '), ['etcd1', 'etcd2', 'web']);
  });
  it('subcommands and fixed words', () => {
    assert.deepEqual(complete('tskv member '), ['list', 'add', 'remove']);
    assert.deepEqual(complete('tskv completion '), ['bash', 'zsh']);
    assert.deepEqual(complete('tskv import '), ['ansible']);
    assert.deepEqual(complete('tskv import ansible '), ['inv/', 'lab.yml', 'README.md']);
  });
  it("flags from the command's usage, a flag's value skipped when counting positionals", () => {
    assert.ok(complete('tskv deploy lab.yml --').includes('--yes'));
    assert.deepEqual(complete('tskv import ansible x.ini --g'), ['--group']);
    assert.deepEqual(complete('tskv import ansible x.ini --out '), ['inv/', 'lab.yml', 'README.md']);
    assert.deepEqual(complete('tskv etcdctl lab.yml --host etcd1 '), []);
  });
  it("after -- the words are another program's: files", () => {
    assert.deepEqual(complete('tskv ssh lab.yml etcd1 -- cat '), ['inv/', 'lab.yml', 'README.md']);
  });
});
