/**
 * etcd's own snapshot programs, as tskv installed them: etcdutl (3.5+) where it is linked, else
 * etcdctl (3.4, with ETCDCTL_API=3). `snapshot status` reads a file; `snapshot restore` makes a
 * new data dir from it.
 */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run.ts';

export interface SnapshotTool {
  name: 'etcdutl' | 'etcdctl';
  path: string;
}

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** Reading and hashing a large database takes a while; these only stop a hung program. */
export const STATUS_TIMEOUT_MS = 5 * 60_000;
export const RESTORE_TIMEOUT_MS = 10 * 60_000;

export async function snapshotTool(binDir: string): Promise<SnapshotTool | undefined> {
  for (const name of ['etcdutl', 'etcdctl'] as const) {
    const path = join(binDir, name);
    try {
      await access(path, constants.X_OK);
      return { name, path };
    } catch {
      // etcdutl arrived in 3.5; etcdctl restores in 3.4
    }
  }
  return undefined;
}

function run(tool: SnapshotTool, args: string[], timeoutMs: number) {
  // etcdctl 3.4 speaks the v3 API by default: no ETCDCTL_API needed.
  return runCommand(tool.path, args, timeoutMs);
}

/** What `snapshot status -w json` says of `file`; an Error with etcd's words when it cannot read it. */
export async function snapshotStatus(tool: SnapshotTool, file: string): Promise<SnapshotStatus> {
  const r = await run(tool, ['snapshot', 'status', file, '-w', 'json'], STATUS_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`${tool.name} snapshot status failed: ${lastLine(r.stderr || r.stdout)}`);
  const line = r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .at(-1);
  let doc: Partial<SnapshotStatus> = {};
  try {
    doc = JSON.parse(line ?? '{}') as Partial<SnapshotStatus>;
  } catch {
    // said below, with what it printed
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : Number.NaN);
  const status = {
    hash: num(doc.hash),
    revision: num(doc.revision),
    totalKey: num(doc.totalKey),
    totalSize: num(doc.totalSize),
  };
  if (Object.values(status).some(Number.isNaN)) {
    throw new Error(`${tool.name} snapshot status printed no status: ${r.stdout.slice(0, 200)}`);
  }
  return status;
}

export interface RestoreArgs {
  file: string;
  dataDir: string;
  name: string;
  initialCluster: { name: string; peerUrl: string }[];
  initialClusterToken: string;
}

/** `snapshot restore` into `dataDir`, which must not exist; the hash the file ends with is checked. */
export async function snapshotRestore(tool: SnapshotTool, a: RestoreArgs): Promise<void> {
  const own = a.initialCluster.find((m) => m.name === a.name);
  if (!own) throw new Error(`${a.name} is not in the initial cluster`);
  const r = await run(
    tool,
    [
      'snapshot',
      'restore',
      a.file,
      `--data-dir=${a.dataDir}`,
      `--name=${a.name}`,
      `--initial-cluster=${a.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(',')}`,
      `--initial-cluster-token=${a.initialClusterToken}`,
      `--initial-advertise-peer-urls=${own.peerUrl}`,
    ],
    RESTORE_TIMEOUT_MS,
  );
  if (r.code !== 0)
    throw new Error(`${tool.name} snapshot restore failed: ${lastLine(r.stderr || r.stdout)}`);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines.find((l) => /error|fatal|panic/i.test(l)) ?? lines.at(-1) ?? '').slice(0, 500);
}
