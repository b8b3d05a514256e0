import { ETCD_UNIT, type routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { journalTail, systemdRunning } from '../system/systemd.ts';
import { tailLines } from '../system/tail.ts';
import type { Handler } from './types.ts';

/**
 * etcd's last log lines: from the journal where systemd runs etcd, else from the supervisor's log
 * file. `systemd` and `layout` are for tests.
 */
export function makeEtcdLogs(
  systemd: () => boolean = systemdRunning,
  layout: HostLayout = HOST_LAYOUT,
): Handler<typeof routes.etcdLogs> {
  return async ({ lines }) => {
    try {
      return {
        lines: systemd() ? await journalTail(ETCD_UNIT, lines) : await tailLines(layout.logFile, lines),
      };
    } catch (err) {
      throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
    }
  };
}

export const etcdLogs = makeEtcdLogs();
