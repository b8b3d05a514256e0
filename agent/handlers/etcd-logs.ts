import { ETCD_UNIT, type routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { journalCause, journalTail, systemdRunning } from '../system/systemd.ts';
import { tailLines } from '../system/tail.ts';
import type { Handler } from './types.ts';

/**
 * etcd's last log lines: from the journal where systemd runs etcd (with the most severe line etcd
 * logged among them, which the journal's text no longer marks), else from the supervisor's log
 * file. `systemd` and `layout` are for tests.
 */
export function makeEtcdLogs(
  systemd: () => boolean = systemdRunning,
  layout: HostLayout = HOST_LAYOUT,
): Handler<typeof routes.etcdLogs> {
  return async ({ lines }) => {
    try {
      if (!systemd()) return { lines: await tailLines(layout.logFile, lines) };
      const [tail, cause] = await Promise.all([
        journalTail(ETCD_UNIT, lines),
        journalCause(ETCD_UNIT, lines),
      ]);
      return { lines: tail, ...(cause === undefined ? {} : { cause }) };
    } catch (err) {
      throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
    }
  };
}

export const etcdLogs = makeEtcdLogs();
