import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { openSession } from '../plays/session.ts';
import { fetchHostSnapshot, listAllSnapshots, saveSnapshot } from '../plays/snapshot-save.ts';
import { progressMode } from '../run/progress.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv snapshot save INVENTORY [--out FILE] [--json]
       tskv snapshot list INVENTORY [--json]
       tskv snapshot fetch INVENTORY HOST:PATH [--out FILE]

  save   takes a consistent snapshot of the cluster's data from the first healthy member, checks it
         on that host (etcd's sha256, snapshot status), keeps it there under /var/lib/tskv/snapshots
         (the newest snapshots.keep stay) and copies it here, verified by sha256; default path
         <inventory dir>/snapshots/<token>-<UTC time>-rev<revision>.db. Refused before anything is
         written when the host or this machine has no room for it.
  list   the snapshots on every host (tskv takes one before each change that restarts or removes
         a member) and in <inventory dir>/snapshots: where, path, time, revision, size
  fetch  copies one host's snapshot here, verified by sha256
Exit code: 0 done, 1 failed, 2 bad input.`;

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

const snapshot: Command = {
  summary: 'save a snapshot of the cluster here, list the snapshots, fetch one from a host',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, json: { type: 'boolean' } },
      usage,
    );
    const [sub, file] = requirePositionals(positionals, ['save|list|fetch', 'INVENTORY'], usage);
    const want = sub === 'fetch' ? 3 : 2;
    if (!['save', 'list', 'fetch'].includes(sub!))
      throw new InputError(`unknown snapshot command '${sub}'\n${usage}`);
    if (positionals.length < want) throw new InputError(`missing HOST:PATH\n${usage}`);
    if (positionals.length > want)
      throw new InputError(`unexpected argument '${positionals[want]}'\n${usage}`);
    if (sub === 'list' && values.out !== undefined) throw new InputError(`list takes no --out\n${usage}`);
    const inv = await loadInventory(file!);
    for (const w of inv.warnings) process.stderr.write(`warning: ${w}\n`);
    const session = await openSession(inv, progressMode(values.json ?? false));
    try {
      if (sub === 'save') {
        const s = await saveSnapshot(session, values.out);
        if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
        else
          process.stdout.write(
            `saved ${s.file}: ${s.size} bytes (${mib(s.size)}), revision ${s.revision}, ${s.keys} keys, sha256 ${s.sha256} (taken on ${s.host}, kept there as ${s.path})\n`,
          );
      } else if (sub === 'fetch') {
        const out = await fetchHostSnapshot(session, positionals[2]!, values.out);
        process.stdout.write(`fetched ${positionals[2]} to ${out} (sha256 verified)\n`);
      } else {
        const l = await listAllSnapshots(session);
        if (values.json) process.stdout.write(`${JSON.stringify(l)}\n`);
        else {
          const rows = [
            ['WHERE', 'PATH', 'TIME', 'REVISION', 'SIZE'],
            ...l.snapshots.map((s) => [s.where, s.path, s.takenAt, String(s.revision ?? '-'), mib(s.size)]),
          ];
          const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
          for (const r of rows)
            process.stdout.write(
              `${r
                .map((c, i) => c.padEnd(widths[i]!))
                .join('  ')
                .trimEnd()}\n`,
            );
          if (l.snapshots.length === 0) process.stdout.write('no snapshots\n');
          for (const p of l.problems) process.stderr.write(`warning: ${p}\n`);
        }
      }
      return 0;
    } finally {
      await session.close();
    }
  },
};

export default snapshot;
