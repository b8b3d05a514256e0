import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hexToId } from '../../../../controller/etcd/index.ts';
import {
  checkPairs,
  oldDataDirs,
  planReplace,
  type ReplaceJournal,
  type ReplacePlan,
  type ReplaceStep,
} from '../../../../controller/ops/replace-plan.ts';
import { inventory, member, seedMembers, view } from './membership-fixtures.ts';

const ops = (plan: ReplacePlan): string[] => {
  assert.equal(plan.kind, 'steps', JSON.stringify(plan));
  return plan.kind === 'steps' ? plan.steps.map(stepLabel) : [];
};

function stepLabel(s: ReplaceStep): string {
  switch (s.kind) {
    case 'add-member':
      return `add ${s.host}${s.learner ? ' learner' : ''}`;
    case 'clear-host':
    case 'prepare-host':
    case 'let-in':
    case 'start-member':
    case 'wait-caught-up':
    case 'promote':
    case 'wait-healthy':
      return `${s.kind} ${s.host}`;
    case 'move-leader-away':
    case 'remove-member':
      return `${s.kind} ${s.name}`;
    default:
      return s.kind;
  }
}

const refusal = (plan: ReplacePlan): string => {
  assert.equal(plan.kind, 'refuse', JSON.stringify(plan));
  return plan.kind === 'refuse' ? plan.reason : '';
};

const NOW = new Date('2024-05-01T10:00:00Z');
const seedRenamed = inventory(['new-h102', 'docker', 'h104']);
const fourHosts = inventory(['h102', 'docker', 'h104', 'h105']);

function journalOf(plan: ReplacePlan): ReplaceJournal {
  assert.equal(plan.kind, 'steps');
  const first = plan.kind === 'steps' ? plan.steps[0] : undefined;
  assert.equal(first?.kind, 'record');
  return (first as Extract<ReplaceStep, { kind: 'record' }>).record;
}

describe('planReplace: a fresh replacement', () => {
  test("the seed's case: h102 renamed new-h102 at the same address is replaced in place", () => {
    const plan = planReplace(
      seedRenamed,
      view(seedMembers()),
      { old: 'h102', new: 'new-h102' },
      undefined,
      NOW,
    );
    assert.equal(plan.kind === 'steps' && plan.mode, 'in-place');
    assert.deepEqual(ops(plan), [
      'record',
      'prepare-host new-h102',
      'check-others-healthy',
      'move-leader-away h102',
      'remove-member h102',
      'clear-host new-h102',
      'add new-h102',
      'start-member new-h102',
      'wait-healthy new-h102',
      'clear-record',
    ]);
    assert.deepEqual(journalOf(plan), {
      old: 'h102',
      oldId: hexToId('84099faad6d56427'),
      oldName: 'h102',
      oldPeerURLs: ['http://192.168.100.102:2380'],
      new: 'new-h102',
      mode: 'in-place',
      startedAt: '2024-05-01T10:00:00.000Z',
    });
  });

  test('OLD given by its hex ID, as the seed removed 84099faad6d56427', () => {
    const plan = planReplace(seedRenamed, view(seedMembers()), { old: '84099faad6d56427', new: 'new-h102' });
    assert.equal(plan.kind === 'steps' && plan.oldName, 'h102');
    assert.equal(journalOf(plan).old, '84099faad6d56427');
  });

  test('NEW on another host joins as a learner, is promoted, then OLD leaves', () => {
    const plan = planReplace(fourHosts, view(seedMembers()), { old: 'h104', new: 'h105' });
    assert.equal(plan.kind === 'steps' && plan.mode, 'learner');
    assert.deepEqual(ops(plan), [
      'record',
      'clear-host h105',
      'prepare-host h105',
      'add h105 learner',
      'start-member h105',
      'wait-caught-up h105',
      'promote h105',
      'move-leader-away h104',
      'remove-member h104',
      'clear-host h104',
      'wait-healthy h105',
      'clear-record',
    ]);
  });

  test('with TLS on, every member lets NEW in through its firewall before NEW is added', () => {
    const tls = { ...fourHosts, tls: { ...fourHosts.tls, mode: 'auto' as const } };
    const plan = planReplace(tls, view(seedMembers()), { old: 'h104', new: 'h105' });
    assert.deepEqual(ops(plan).slice(2, 5), ['prepare-host h105', 'let-in h105', 'add h105 learner']);
    const step = plan.kind === 'steps' ? plan.steps.find((s) => s.kind === 'let-in') : undefined;
    assert.match(
      step?.title ?? '',
      /^let h105 \(192\.168\.100\.105\) in through every member's firewall on 2380\/tcp$/,
    );
  });

  test('OLD may be down: a dead member is replaced onto a new host', () => {
    const plan = planReplace(fourHosts, view(seedMembers(), { sick: ['h104'] }), {
      old: 'h104',
      new: 'h105',
    });
    assert.equal(plan.kind, 'steps');
  });

  test('OLD gone from the inventory at an address no host has: a warning, no host step for it', () => {
    const inv = inventory(['h102', 'docker', 'h105']);
    const plan = planReplace(inv, view(seedMembers()), { old: 'h104', new: 'h105' });
    assert.ok(!ops(plan).includes('clear-host h104'));
    assert.match(plan.kind === 'steps' ? (plan.warnings[0] ?? '') : '', /cannot stop etcd there/);
  });

  test('a one-member cluster is replaced through a learner, never in place', () => {
    const one = [member('h102')];
    assert.match(
      refusal(planReplace(seedRenamed, view(one), { old: 'h102', new: 'new-h102' })),
      /only voting member/,
    );
    assert.equal(planReplace(fourHosts, view(one), { old: 'h102', new: 'h105' }).kind, 'steps');
  });
});

describe('planReplace: refusals before anything changes', () => {
  const members = seedMembers();
  test('another member unhealthy', () => {
    const reason = refusal(
      planReplace(fourHosts, view(members, { sick: ['docker'] }), { old: 'h104', new: 'h105' }),
    );
    assert.match(reason, /not every other member is healthy: docker \(unreachable/);
  });
  test('another member unhealthy, in place', () => {
    const reason = refusal(
      planReplace(seedRenamed, view(members, { sick: ['h104'] }), { old: 'h102', new: 'new-h102' }),
    );
    assert.match(reason, /h104/);
  });
  test('OLD not a member', () => {
    assert.match(
      refusal(planReplace(fourHosts, view(members), { old: 'h999', new: 'h105' })),
      /^h999 is not a member; members: h102 84099faad6d56427, docker 940f6e83e019a03f, h104 1b80a88a471eb4b8$/,
    );
  });
  test('NEW not in the inventory', () => {
    assert.match(
      refusal(planReplace(fourHosts, view(members), { old: 'h104', new: 'h106' })),
      /h106 is not a host/,
    );
  });
  test('NEW already a member', () => {
    assert.match(
      refusal(planReplace(fourHosts, view(members), { old: 'h104', new: 'docker' })),
      /docker is already a member/,
    );
  });
  test('NEW at the address of another member', () => {
    const inv = inventory(['new-h102', 'docker', 'h104']);
    assert.match(
      refusal(planReplace(inv, view(members), { old: 'h104', new: 'new-h102' })),
      /already a member \(h102/,
    );
  });
  test('two changes at once: a learner is already there', () => {
    const withLearner = [...members, member('h106', { learner: true })];
    assert.match(
      refusal(planReplace(fourHosts, view(withLearner), { old: 'h104', new: 'h105' })),
      /two changes at once/,
    );
  });
  test('two changes at once: an unstarted member is already there', () => {
    const withUnstarted = [...members, member('h106', { unstarted: true })];
    assert.match(
      refusal(planReplace(fourHosts, view(withUnstarted), { old: 'h104', new: 'h105' })),
      /\(unstarted\) [0-9a-f]+\): two changes at once/,
    );
  });
  test('no leader', () => {
    assert.match(
      refusal(planReplace(fourHosts, view(members, { leader: null }), { old: 'h104', new: 'h105' })),
      /no leader/,
    );
  });
  test('a journal for another pair', () => {
    const first = journalOf(planReplace(fourHosts, view(members), { old: 'h104', new: 'h105' }));
    const reason = refusal(planReplace(fourHosts, view(members), { old: 'docker', new: 'h105' }, first));
    assert.match(reason, /another replacement is in progress \(h104=h105/);
  });
});

describe('checkPairs', () => {
  test('accepts distinct pairs', () => {
    assert.equal(
      checkPairs([
        { old: 'a', new: 'b' },
        { old: 'c', new: 'd' },
      ]),
      undefined,
    );
  });
  test('refuses a member replacing itself, one OLD twice, one NEW twice, a chain', () => {
    assert.match(checkPairs([{ old: 'a', new: 'a' }]) ?? '', /cannot replace itself/);
    const twice = [
      { old: 'a', new: 'b' },
      { old: 'a', new: 'c' },
    ];
    assert.match(checkPairs(twice) ?? '', /a is replaced twice/);
    const twoOld = [
      { old: 'a', new: 'c' },
      { old: 'b', new: 'c' },
    ];
    assert.match(checkPairs(twoOld) ?? '', /c replaces two members/);
    const chain = [
      { old: 'a', new: 'b' },
      { old: 'b', new: 'c' },
    ];
    assert.match(checkPairs(chain) ?? '', /b is both replaced and replacing/);
  });
});

describe('planReplace: resuming from the journal', () => {
  const learnerJournal = journalOf(planReplace(fourHosts, view(seedMembers()), { old: 'h104', new: 'h105' }));
  const pair = { old: 'h104', new: 'h105' };
  const cases: [string, ReturnType<typeof member>[], string[]][] = [
    [
      'died before the add',
      seedMembers(),
      [
        'clear-host h105',
        'prepare-host h105',
        'add h105 learner',
        'start-member h105',
        'wait-caught-up h105',
        'promote h105',
        'move-leader-away h104',
        'remove-member h104',
        'clear-host h104',
        'wait-healthy h105',
        'clear-record',
      ],
    ],
    [
      // Its host was cleared before the add; its etcd may have joined raft since without publishing
      // its name, so its data is not moved aside again.
      'the learner was added, never started',
      [...seedMembers(), member('h105', { learner: true, unstarted: true })],
      ['prepare-host h105', 'start-member h105', 'wait-caught-up h105', 'promote h105'],
    ],
    [
      'the learner started (its data is kept)',
      [...seedMembers(), member('h105', { learner: true })],
      ['prepare-host h105', 'start-member h105', 'wait-caught-up h105', 'promote h105'],
    ],
    [
      'promoted, OLD still a member',
      [...seedMembers(), member('h105')],
      ['move-leader-away h104', 'remove-member h104', 'clear-host h104', 'wait-healthy h105', 'clear-record'],
    ],
    [
      'OLD removed, its host not cleaned up yet',
      [member('h102'), member('docker'), member('h105')],
      ['clear-host h104', 'wait-healthy h105', 'clear-record'],
    ],
  ];
  for (const [name, members, expected] of cases) {
    test(`learner mode: ${name}`, () => {
      const plan = planReplace(fourHosts, view(members), pair, learnerJournal);
      assert.equal(plan.kind === 'steps' && plan.resumed, true);
      assert.deepEqual(ops(plan).slice(0, expected.length), expected);
    });
  }

  const inPlace = journalOf(planReplace(seedRenamed, view(seedMembers()), { old: 'h102', new: 'new-h102' }));
  const seedPair = { old: 'h102', new: 'new-h102' };
  const others = [member('docker'), member('h104')];
  const inPlaceCases: [string, ReturnType<typeof member>[], string[]][] = [
    [
      'died before the removal',
      seedMembers(),
      [
        'prepare-host new-h102',
        'check-others-healthy',
        'move-leader-away h102',
        'remove-member h102',
        'clear-host new-h102',
        'add new-h102',
        'start-member new-h102',
        'wait-healthy new-h102',
        'clear-record',
      ],
    ],
    [
      'OLD removed, NEW not added: OLD is no longer a member, yet this resumes',
      others,
      [
        'clear-host new-h102',
        'add new-h102',
        'start-member new-h102',
        'wait-healthy new-h102',
        'clear-record',
      ],
    ],
    [
      'NEW added, never started (its data, if it joined raft meanwhile, stays)',
      [...others, member('new-h102', { unstarted: true })],
      ['start-member new-h102', 'wait-healthy new-h102', 'clear-record'],
    ],
    ['NEW started', [...others, member('new-h102')], ['wait-healthy new-h102', 'clear-record']],
  ];
  for (const [name, members, expected] of inPlaceCases) {
    test(`in place: ${name}`, () => {
      assert.deepEqual(ops(planReplace(seedRenamed, view(members), seedPair, inPlace)), expected);
    });
  }

  test('a journal naming OLD by hex ID matches the pair given by name', () => {
    const byId = { ...inPlace, old: '84099faad6d56427' };
    assert.equal(planReplace(seedRenamed, view(seedMembers()), seedPair, byId).kind, 'steps');
  });
});

describe('planReplace: already done', () => {
  test('re-running after success says so instead of refusing', () => {
    const members = [member('docker'), member('h104'), member('new-h102')];
    const plan = planReplace(seedRenamed, view(members), { old: 'h102', new: 'new-h102' }, undefined);
    assert.equal(plan.kind, 'done');
  });
});

describe('step titles', () => {
  test('every step of both modes reads as a sentence naming hosts and paths', () => {
    const plan = planReplace(seedRenamed, view(seedMembers()), { old: 'h102', new: 'new-h102' });
    const lines = plan.kind === 'steps' ? plan.steps.map((s) => s.title) : [];
    assert.ok(lines.includes('remove h102 (84099faad6d56427) from the cluster'), lines.join('\n'));
    assert.ok(
      lines.includes(
        'stop etcd on new-h102 and move /var/lib/etcd/h102.etcd, /var/lib/etcd/new-h102.etcd aside (h102 was removed)',
      ),
    );
    assert.ok(lines.includes('add new-h102 (http://192.168.100.102:2380) to the cluster as a voting member'));
  });
});

describe('oldDataDirs', () => {
  test("OLD's data dir comes from the inventory's {name} template, never from replacing text in NEW's", () => {
    const host = (name: string, dataDirTemplate: string) => ({
      ...seedRenamed.hosts[0]!,
      name,
      dataDirTemplate,
      dataDir: dataDirTemplate.replaceAll('{name}', name),
    });
    assert.deepEqual(oldDataDirs('h102', host('new-h102', '/var/lib/etcd/{name}.etcd')), [
      '/var/lib/etcd/h102.etcd',
      '/var/lib/etcd/new-h102.etcd',
    ]);
    // A fixed data dir that happens to contain NEW's name: replacing text gave /srv/etcd.
    assert.deepEqual(oldDataDirs('srv', host('data', '/data/etcd')), ['/data/etcd']);
  });
});
