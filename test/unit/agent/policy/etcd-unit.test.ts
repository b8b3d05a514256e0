import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdUnitProblem } from '../../../../agent/policy/etcd-unit.ts';
import { HOST_LAYOUT } from '../../../../agent/policy/layout.ts';

/** The shipped template's shape (templates/etcd.service.hbs), rendered. */
const GOOD_UNIT = `# etcd member h1 (rendered by tskv).
[Unit]
Description=etcd key-value store (member h1)
Documentation=https://etcd.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
EnvironmentFile=/etc/etcd/etcd.env
ExecStart=/usr/local/bin/etcd
Restart=on-failure
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;

const problem = (unit: string) => etcdUnitProblem(unit, HOST_LAYOUT);
const swap = (from: string, to: string) => GOOD_UNIT.replace(from, to);

test('the shipped unit, a versioned etcd with flags, and harmless extra settings pass', () => {
  assert.equal(problem(GOOD_UNIT), undefined);
  assert.equal(
    problem(swap('ExecStart=/usr/local/bin/etcd', 'ExecStart=/opt/tskv/etcd/v3.5.17/etcd --log-level=debug')),
    undefined,
  );
  assert.equal(
    problem(swap('LimitNOFILE=65536', 'LimitNOFILE=65536\nUser=etcd\nNice=-5\nMemoryMax=4G')),
    undefined,
  );
});

test('what would run anything but tskv etcd, or more than etcd, is refused', () => {
  const cases: [string, RegExp][] = [
    [
      swap('ExecStart=/usr/local/bin/etcd', 'ExecStart=/bin/sh -c id'),
      /^line 11: ExecStart= must start \/usr\/local\/bin\/etcd or \/opt\/tskv\/etcd\/v<version>\/etcd .*not \/bin\/sh$/,
    ],
    [
      swap('ExecStart=/usr/local/bin/etcd', 'ExecStart=+/usr/local/bin/etcd'),
      /ExecStart= must start .*not \+\/usr\/local\/bin\/etcd$/,
    ],
    [swap('ExecStart=/usr/local/bin/etcd', 'ExecStart=/opt/tskv/etcd/vlatest/etcd'), /ExecStart= must start/],
    [
      swap('Type=notify', 'Type=notify\nExecStartPre=/bin/sh -c id'),
      /^line 10: ExecStartPre= is not allowed in \[Service\] \(only Type, EnvironmentFile, ExecStart, /,
    ],
    [
      swap('Type=notify', 'Type=notify\nEnvironment=LD_PRELOAD=/tmp/x.so'),
      /Environment= is not allowed in \[Service\]/,
    ],
    [
      swap('EnvironmentFile=/etc/etcd/etcd.env', 'EnvironmentFile=/tmp/env'),
      /^line 10: EnvironmentFile= must be \/etc\/etcd\/etcd\.env$/,
    ],
    [swap('Type=notify', 'Type=notify\nRootDirectory=/tmp/root'), /RootDirectory= is not allowed/],
    [
      swap('Type=notify', 'Type=notify\nBindPaths=/tmp/etcd:/usr/local/bin/etcd'),
      /BindPaths= is not allowed/,
    ],
    [swap('Type=notify', 'Type=notify\nStandardOutput=file:/etc/cron.d/x'), /StandardOutput= is not allowed/],
    [swap('Type=notify', 'Type=oneshot'), /^line 9: Type= must be notify or simple or exec$/],
    [
      swap('Wants=network-online.target', 'Wants=network-online.target poweroff.target'),
      /^line 5: Wants= poweroff\.target must be network\.target or /,
    ],
    [swap('After=network-online.target', 'OnFailure=reboot.target'), /OnFailure= is not allowed in \[Unit\]/],
    [
      swap('WantedBy=multi-user.target', 'WantedBy=multi-user.target\nAlias=sshd.service'),
      /Alias= is not allowed in \[Install\]/,
    ],
    [swap('[Install]', '[X-Extra]'), /^line 16: no \[X-Extra\] section/],
    [
      swap('Documentation=https://etcd.io/docs/', 'Documentation=https://etcd.io/docs/ \\'),
      /^line 4 continues on the next line/,
    ],
    [swap('RestartSec=5', 'RestartSec=5\rExecStartPre=/bin/sh'), /^line 13 has a control character$/],
    [
      swap('Restart=on-failure', '.include /etc/systemd/system/other.service'),
      /^line 12 is not a \[Section\] or Key=value line$/,
    ],
    [`ExecStart=/usr/local/bin/etcd\n${GOOD_UNIT}`, /^line 1 is outside a section$/],
    [
      swap('LimitNOFILE=65536', 'LimitNOFILE=65536\nExecStart=/usr/local/bin/etcd'),
      /^has 2 ExecStart= lines, not one$/,
    ],
    [swap('ExecStart=/usr/local/bin/etcd', '# no ExecStart'), /^has 0 ExecStart= lines, not one$/],
  ];
  for (const [unit, message] of cases) assert.match(problem(unit) ?? '(passed)', message, unit);
});
