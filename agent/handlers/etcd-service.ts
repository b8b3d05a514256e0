import type { ParsedRequestOf, ResponseOf, routes } from '../api/index.ts';
import { refused } from '../errors.ts';
import { checkEtcdBinary } from '../policy/etcd.ts';
import { etcdUnitProblem } from '../policy/etcd-unit.ts';
import { etcdBinary, HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { supervisorPaths } from '../supervisor/state.ts';
import { agentCommand } from '../system/supervisor-control.ts';
import { systemdRunning } from '../system/systemd.ts';
import { type EnsureEtcdAccount, ensureEtcdAccount } from './etcd-account.ts';
import { makePrepareEtcdRun } from './etcd-run-as.ts';
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
  /** The etcd program, env file, log file and run folder (the supervisor's pid and state). Default: the host's. */
  layout?: HostLayout;
  /** How to run this agent for `supervise`. Default: agentCommand(). */
  agentCommand?: string[];
  /** The account etcd runs as. Default: the host's etcd account, created where missing. */
  account?: EnsureEtcdAccount;
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
 * supervisor. Either way only tskv's etcd, as the etcd user: the binary and the unit are checked
 * first (policy/etcd.ts, policy/etcd-unit.ts), the account and the data dir prepared before etcd
 * starts (etcd-run-as.ts). Options exist for tests (a temporary layout, no systemd, Node + entry
 * script, an account of their own).
 */
export function makeEtcdService(options: EtcdServiceOptions = {}): Handler<typeof routes.etcdService> {
  const layout = options.layout ?? HOST_LAYOUT;
  const prepare = makePrepareEtcdRun(layout, options.account ?? ensureEtcdAccount);
  return async (request: Request): Promise<Reply> => {
    const binary = request.binary ?? etcdBinary(layout);
    checkEtcdBinary(layout, binary);
    if (request.unit !== undefined) {
      const problem = etcdUnitProblem(request.unit, layout);
      if (problem) throw refused(`the etcd unit ${problem}`);
    }
    if ((options.systemd ?? systemdRunning)()) return systemdService(request, prepare);
    const ctx: SupervisorContext = {
      paths: supervisorPaths(layout.runDir),
      agentCommand: options.agentCommand ?? agentCommand(),
      target: { binary, envFile: layout.envFile, logFile: layout.logFile },
      prepare,
    };
    return SUPERVISOR_ACTIONS[request.action](ctx);
  };
}

export const etcdService = makeEtcdService();
