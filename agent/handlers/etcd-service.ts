import { type ParsedRequestOf, type ResponseOf, type routes, TSKV_RUN_DIR } from '../api/index.ts';
import { supervisorPaths } from '../supervisor/state.ts';
import { agentCommand } from '../system/supervisor-control.ts';
import { systemdRunning } from '../system/systemd.ts';
import {
  type SupervisorContext,
  supervisorRestart,
  supervisorStart,
  supervisorStatus,
  supervisorStop,
} from './etcd-service-supervisor.ts';
import { systemdService } from './etcd-service-systemd.ts';
import type { Handler } from './types.ts';

type Request = ParsedRequestOf<typeof routes.etcdService>;
type Reply = ResponseOf<typeof routes.etcdService>;

export interface EtcdServiceOptions {
  /** Whether systemd is the init system. Default: /run/systemd/system exists. */
  systemd?: () => boolean;
  /** The supervisor's pid and state files live here. Default TSKV_RUN_DIR. */
  runDir?: string;
  /** How to run this agent for `supervise`. Default: agentCommand(). */
  agentCommand?: string[];
}

const SUPERVISOR_ACTIONS = {
  // No unit to install where the agent supervises etcd itself.
  install: supervisorStatus,
  start: supervisorStart,
  stop: supervisorStop,
  restart: supervisorRestart,
  status: supervisorStatus,
} as const;

/**
 * The etcdService handler: a systemd unit where systemd runs, else the agent's own detached
 * supervisor. Options exist for tests (temporary run directory, no systemd, Node + entry script).
 */
export function makeEtcdService(options: EtcdServiceOptions = {}): Handler<typeof routes.etcdService> {
  return async (request: Request): Promise<Reply> => {
    if ((options.systemd ?? systemdRunning)()) return systemdService(request);
    const ctx: SupervisorContext = {
      paths: supervisorPaths(options.runDir ?? TSKV_RUN_DIR),
      agentCommand: options.agentCommand ?? agentCommand(),
    };
    return SUPERVISOR_ACTIONS[request.action](request, ctx);
  };
}

export const etcdService = makeEtcdService();
