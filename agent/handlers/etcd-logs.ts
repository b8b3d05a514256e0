import { ETCD_UNIT, type routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { journalTail, systemdRunning } from '../system/systemd.ts';
import { tailLines } from '../system/tail.ts';
import type { Handler } from './types.ts';

/**
 * etcd's last log lines: from the journal where systemd runs etcd, else from the supervisor's log
 * file. `systemd` is for tests.
 */
export function makeEtcdLogs(systemd: () => boolean = systemdRunning): Handler<typeof routes.etcdLogs> {
  return async ({ lines, logFile }) => {
    try {
      return { lines: systemd() ? await journalTail(ETCD_UNIT, lines) : await tailLines(logFile, lines) };
    } catch (err) {
      throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
    }
  };
}

export const etcdLogs = makeEtcdLogs();
