import { setTimeout as delay } from 'node:timers/promises';
import { EXIT_FAILED, EXIT_OK } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { formatDrift } from '../ops/membership.ts';
import { LiveCluster } from '../plays/live-cluster.ts';
import { openSession } from '../plays/session.ts';
import { gatherStatus, type HostCert, type StatusReport } from '../plays/status.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings } from './warnings.ts';

const usage = `usage: tskv status INVENTORY [--json] [--watch]

Every member (name, ID as etcdctl prints it, URLs, started/unstarted/learner, health, leader,
version, DB size, raft term/index), each host's clock offset and etcd service (systemd unit or
tskv's supervisor: running since when, restarts, how it last ended), the last log lines of a
member that is down or unhealthy, where the inventory and the cluster disagree, and (in words,
naming tskv recover) when the cluster has lost its quorum. --watch refreshes every 2 s until Ctrl-C.
Exit code: 0 every member healthy and the inventory agrees, 1 otherwise.`;

const WATCH_INTERVAL_MS = 2000;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const size = (n: number | null) =>
  n === null ? '-' : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.round(n / 1024)} kB`;
const offset = (ms: number | null, err: number | null) =>
  ms === null ? '-' : `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(3)}s ±${((err ?? 0) / 1000).toFixed(3)}s`;

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  if (r.error) out.push(`no member answered: ${r.error}`);
  else
    out.push(
      `cluster ${r.clusterId}, leader ${r.leader ?? '(none)'}, ${r.members.length} members, cluster version ${r.clusterVersion ?? '-'}`,
    );
  if (r.quorumLost) out.push(r.quorumLost);
  if (r.members.length > 0) {
    const head = [
      'ID',
      'NAME',
      'STATE',
      'HEALTH',
      'LEADER',
      'VERSION',
      'DB SIZE',
      'TERM',
      'INDEX',
      'PEER URLS',
      'CLIENT URLS',
    ];
    const rows = r.members.map((m) => [
      m.id,
      m.name || '-',
      m.state,
      m.healthy ? 'healthy' : m.health,
      m.leader ? 'yes' : '',
      m.version ?? '-',
      size(m.dbSize),
      m.raftTerm === null ? '-' : String(m.raftTerm),
      m.raftIndex === null ? '-' : String(m.raftIndex),
      m.peerURLs.join(','),
      m.clientURLs.join(',') || '-',
    ]);
    out.push(table([head, ...rows]));
  }
  const tls = r.hosts.some((h) => h.certs !== null);
  const hostRows = r.hosts.map((h) => [
    h.name,
    h.address,
    h.reachable ? 'reachable' : 'unreachable',
    offset(h.clockOffsetMs, h.clockErrorMs),
    h.member ?? '(not a member)',
    h.etcd ?? '-',
    ...(tls ? [certsText(h.certs)] : []),
    h.problem ?? '',
  ]);
  const head = [
    'HOST',
    'ADDRESS',
    'SSH',
    'CLOCK OFFSET',
    'MEMBER',
    'ETCD',
    ...(tls ? ['CERTIFICATES'] : []),
    '',
  ];
  out.push('', table([head, ...hostRows]));
  for (const h of r.hosts.filter((x) => x.log.length > 0)) {
    out.push('', `${h.name}: etcd's last ${h.log.length} log lines:`, ...h.log.map((l) => `  ${l}`));
  }
  if (r.replacing) {
    out.push(
      '',
      `a replacement is in progress: ${r.replacing.old}=${r.replacing.new} (started ${r.replacing.startedAt}); re-run it to finish`,
    );
  }
  if (r.recovering) {
    out.push(
      '',
      `a recovery around ${r.recovering.survivor} is in progress (started ${r.recovering.startedAt}); re-run tskv recover to finish`,
    );
  }
  if (r.drift.length > 0) out.push('', 'the inventory and the cluster disagree:', formatDrift(r.drift));
  return `${out.join('\n')}\n`;
}

/** "server 364d, peer 364d, ca 3651d": days left of each certificate the host's etcd uses. */
function certsText(certs: HostCert[] | null): string {
  if (certs === null) return '-';
  const left = (c: HostCert) =>
    c.daysLeft === null ? 'missing' : c.daysLeft < 0 ? 'EXPIRED' : `${c.daysLeft}d`;
  return certs.map((c) => `${c.role} ${left(c)}`).join(', ');
}

const certsUsable = (r: StatusReport) =>
  r.hosts.every((h) => (h.certs ?? []).every((c) => c.daysLeft !== null && c.daysLeft >= 0));

const ok = (r: StatusReport) =>
  !r.error &&
  r.drift.length === 0 &&
  r.members.every((m) => m.healthy) &&
  !r.replacing &&
  !r.recovering &&
  certsUsable(r);

const status: Command = {
  summary: 'show every member, its health and raft state, each host clock offset, and inventory drift',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { json: { type: 'boolean' }, watch: { type: 'boolean', short: 'w' } },
      usage,
    );
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: true });
    const session = await openSession(inv, 'silent');
    const live = new LiveCluster(session);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    try {
      for (;;) {
        const report = await gatherStatus(live);
        if (values.json) process.stdout.write(`${JSON.stringify(report, null, values.watch ? 0 : 2)}\n`);
        else {
          if (values.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          if (values.watch) process.stdout.write(`${new Date().toISOString()}\n`);
          process.stdout.write(formatStatus(report));
        }
        if (!values.watch) return ok(report) ? EXIT_OK : EXIT_FAILED;
        try {
          await delay(WATCH_INTERVAL_MS, undefined, { signal: stop.signal });
        } catch {
          return EXIT_OK;
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      await live.close();
      await session.close();
    }
  },
};

export default status;
