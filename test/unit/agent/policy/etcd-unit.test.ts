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
User=etcd
Group=etcd
EnvironmentFile=/etc/etcd/etcd.env
ExecStart=/usr/local/bin/etcd
Restart=on-failure
RestartSec=5
# A large member replays its WAL before it reports ready.
TimeoutStartSec=300
LimitNOFILE=65536
# Hardening, one setting a line (each can go alone): etcd writes only its data (and WAL) dir.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/etcd/h1.etcd
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictSUIDSGID=yes
LockPersonality=yes
CapabilityBoundingSet=

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
  assert.equal(problem(swap('LimitNOFILE=65536', 'LimitNOFILE=65536\nNice=-5\nMemoryMax=4G')), undefined);
  // Each hardening setting can go alone; a WAL dir beside the data dir, paths quoted as systemd reads them.
  for (const line of GOOD_UNIT.split('\n').filter((l) =>
    /^(NoNewPrivileges|Protect|Private|Restrict|LockP|Capab)/.test(l),
  )) {
    assert.equal(problem(GOOD_UNIT.replace(`${line}\n`, '')), undefined, `without ${line}`);
  }
  assert.equal(
    problem(
      swap(
        'ReadWritePaths=/var/lib/etcd/h1.etcd',
        'ReadWritePaths=/var/lib/etcd/h1.etcd "/srv/etcd wal/100%%" "/data/\\"x\\""',
      ),
    ),
    undefined,
  );
  assert.equal(
    problem(
      swap(
        'CapabilityBoundingSet=',
        'CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE',
      ),
    ),
    undefined,
  );
  assert.equal(problem(swap('ProtectSystem=strict', 'ProtectSystem=full')), undefined);
});

test('etcd runs as the etcd user, its sandbox only tightened, its writable folders only etcd data', () => {
  const cases: [string, RegExp][] = [
    [swap('User=etcd\n', ''), /^has 0 User= lines, not one$/],
    [swap('Group=etcd\n', ''), /^has 0 Group= lines, not one$/],
    [swap('User=etcd', 'User=root'), /^line 10: User= must be etcd$/],
    [swap('User=etcd', 'User=0'), /User= must be etcd$/],
    [swap('Group=etcd', 'Group=root'), /^line 11: Group= must be etcd$/],
    [swap('User=etcd', 'User=etcd\nUser=etcd'), /^has 2 User= lines, not one$/],
    [swap('NoNewPrivileges=yes', 'NoNewPrivileges=no'), /NoNewPrivileges= must be yes or true$/],
    [swap('ProtectSystem=strict', 'ProtectSystem=no'), /ProtectSystem= must be strict or full$/],
    [swap('ProtectHome=yes', 'ProtectHome=no'), /ProtectHome= must be yes or true or read-only or tmpfs$/],
    [swap('PrivateTmp=yes', 'PrivateTmp=false'), /PrivateTmp= must be yes or true$/],
    [
      swap(
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
        'RestrictAddressFamilies=~AF_PACKET',
      ),
      /RestrictAddressFamilies= ~AF_PACKET is not one of AF_UNIX AF_INET AF_INET6 AF_NETLINK$/,
    ],
    [
      swap('CapabilityBoundingSet=', 'CapabilityBoundingSet=CAP_SYS_ADMIN'),
      /CAP_SYS_ADMIN is not one of CAP_NET_BIND_SERVICE$/,
    ],
    [
      swap('CapabilityBoundingSet=', 'AmbientCapabilities=CAP_DAC_OVERRIDE'),
      /AmbientCapabilities= CAP_DAC_OVERRIDE is not one/,
    ],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/etc'),
      /ReadWritePaths= \/etc: is a system folder \(only etcd's data and WAL dirs\)$/,
    ],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/usr/local/sbin'),
      /\/usr\/local\/sbin: is in \/usr/,
    ],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/var/lib/etcd/h1.etcd /etc/cron.d'),
      /\/etc\/cron\.d: is in \/etc/,
    ],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/var/lib/tskv/agent'),
      /is in tskv's \/var\/lib\/tskv/,
    ],
    [swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/opt'), /\/opt: is a system folder/],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=-/var/lib/etcd/h1.etcd'),
      /-\/var\/lib\/etcd\/h1\.etcd: must be an absolute path/,
    ],
    [swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/var/lib/../../etc'), /must be normalised/],
    [swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths=/var/lib/etcd/%h'), /has a %-specifier/],
    [swap('ReadWritePaths=/var/lib/etcd/h1.etcd', "ReadWritePaths='/etc'"), /is not a list of paths/],
    [
      swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths="/srv/\\x2fetc"'),
      /is not a list of paths/,
    ],
    [swap('ReadWritePaths=/var/lib/etcd/h1.etcd', 'ReadWritePaths='), /ReadWritePaths= names no folder$/],
    [swap('ProtectSystem=strict', 'ProtectSystem=strict\nReadOnlyPaths=/'), /ReadOnlyPaths= is not allowed/],
    [swap('ProtectSystem=strict', 'ProtectSystem=strict\nDynamicUser=yes'), /DynamicUser= is not allowed/],
    [
      swap('ProtectSystem=strict', 'ProtectSystem=strict\nSupplementaryGroups=root'),
      /SupplementaryGroups= is not allowed/,
    ],
  ];
  for (const [unit, message] of cases) assert.match(problem(unit) ?? '(passed)', message, unit);
});

test('what would run anything but tskv etcd, or more than etcd, is refused', () => {
  const cases: [string, RegExp][] = [
    [
      swap('ExecStart=/usr/local/bin/etcd', 'ExecStart=/bin/sh -c id'),
      /^line 13: ExecStart= must start \/usr\/local\/bin\/etcd or \/opt\/tskv\/etcd\/v<version>\/etcd .*not \/bin\/sh$/,
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
      /^line 12: EnvironmentFile= must be \/etc\/etcd\/etcd\.env$/,
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
    [swap('[Install]', '[X-Extra]'), /^line 35: no \[X-Extra\] section/],
    [
      swap('Documentation=https://etcd.io/docs/', 'Documentation=https://etcd.io/docs/ \\'),
      /^line 4 continues on the next line/,
    ],
    [swap('RestartSec=5', 'RestartSec=5\rExecStartPre=/bin/sh'), /^line 15 has a control character$/],
    [
      swap('Restart=on-failure', '.include /etc/systemd/system/other.service'),
      /^line 14 is not a \[Section\] or Key=value line$/,
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
