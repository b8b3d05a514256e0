import { type ErrorCode, TskvError } from '../errors.ts';

/** gRPC status codes etcd's gateway puts in error bodies (the ones tskv reasons about). */
export const GRPC = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  failedPrecondition: 9,
  unavailable: 14,
} as const;

/**
 * How the call failed: etcd answered with an error (`response`), the connection could not be made
 * so the request was certainly not applied (`unreachable`), the call timed out or the connection
 * broke mid-way so it may or may not have been applied (`timeout`/`broken`), or the reply was not
 * the expected shape (`bad-response`).
 */
export type EtcdFailureKind = 'response' | 'unreachable' | 'timeout' | 'broken' | 'bad-response';

export interface EtcdErrorInit {
  kind: EtcdFailureKind;
  /** Endpoint name (usually the host name). */
  endpoint: string;
  /** The operation, e.g. "member add". */
  operation: string;
  /** etcd's own `message` (or the transport's). */
  etcdMessage: string;
  httpStatus?: number;
  grpcCode?: number;
  cause?: unknown;
}

const MESSAGES = {
  learnerNotReady: 'can only promote a learner member which is in sync with leader',
  memberNotLearner: 'can only promote a learner member',
  unhealthy: 'unhealthy cluster',
  notEnoughStarted: 'not enough started members',
  memberNotFound: 'member not found',
  peerUrlExists: 'peer urls already exists',
  memberExists: 'member id already exist',
  tooManyLearners: 'too many learner members',
  notLeader: 'not leader',
  noLeader: 'no leader',
  leaderChanged: 'leader changed',
  learnerRpc: 'rpc not supported for learner',
  badTransferee: 'bad leader transferee',
  requestTimedOut: 'request timed out',
  stopped: 'server stopped',
} as const;

function fixFor(message: string): string | undefined {
  const m = message.toLowerCase();
  if (m.includes(MESSAGES.learnerNotReady))
    return 'the learner has not caught up yet: retry the promotion shortly';
  if (m.includes(MESSAGES.tooManyLearners))
    return 'etcd allows one learner at a time: promote or remove the existing learner first';
  if (m.includes(MESSAGES.unhealthy) || m.includes(MESSAGES.notEnoughStarted))
    return 'every voting member must be started and connected before a membership change';
  if (m.includes(MESSAGES.peerUrlExists))
    return 'a member with this peer URL is already registered (perhaps added but never started): reuse or remove it';
  return undefined;
}

/** A failed call to etcd's HTTP API, with etcd's own message and codes kept for decisions. */
export class EtcdError extends TskvError {
  readonly kind: EtcdFailureKind;
  readonly endpoint: string;
  readonly operation: string;
  readonly etcdMessage: string;
  readonly httpStatus: number | undefined;
  readonly grpcCode: number | undefined;

  constructor(init: EtcdErrorInit) {
    const code: ErrorCode =
      init.kind === 'response'
        ? 'E_ETCD'
        : init.kind === 'bad-response'
          ? 'E_ETCD_BAD_RESPONSE'
          : init.kind === 'unreachable'
            ? 'E_ETCD_UNREACHABLE'
            : 'E_ETCD_TIMEOUT';
    const fix = fixFor(init.etcdMessage);
    // The operation is the step, so formatError prints "host: etcd member add: <etcd's message>".
    super(code, init.etcdMessage, {
      host: init.endpoint,
      step: `etcd ${init.operation}`,
      cause: init.cause,
      ...(fix === undefined ? {} : { fix }),
    });
    this.name = 'EtcdError';
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.operation = init.operation;
    this.etcdMessage = init.etcdMessage;
    this.httpStatus = init.httpStatus;
    this.grpcCode = init.grpcCode;
  }

  private says(text: string): boolean {
    return this.etcdMessage.toLowerCase().includes(text);
  }

  /** Promote refused because the learner is behind the leader's log: retry later. */
  isLearnerNotReady(): boolean {
    return this.says(MESSAGES.learnerNotReady);
  }
  /** Promote of a member that is not a learner. */
  isMemberNotLearner(): boolean {
    return this.says(MESSAGES.memberNotLearner) && !this.isLearnerNotReady();
  }
  /** Reconfiguration refused by `--strict-reconfig-check` (a voter down, or quorum would be lost). */
  isUnhealthyCluster(): boolean {
    return this.says(MESSAGES.unhealthy) || this.says(MESSAGES.notEnoughStarted);
  }
  isMemberNotFound(): boolean {
    return this.says(MESSAGES.memberNotFound);
  }
  isPeerUrlExists(): boolean {
    return this.says(MESSAGES.peerUrlExists);
  }
  isMemberExists(): boolean {
    return this.says(MESSAGES.memberExists);
  }
  isTooManyLearners(): boolean {
    return this.says(MESSAGES.tooManyLearners);
  }
  isNotLeader(): boolean {
    return this.says(MESSAGES.notLeader);
  }
  isBadLeaderTransferee(): boolean {
    return this.says(MESSAGES.badTransferee);
  }
  /** The endpoint is a learner and refused an RPC that only voters serve. */
  isLearnerRpcRefused(): boolean {
    return this.says(MESSAGES.learnerRpc);
  }
  /** The request never reached etcd (connection refused, host unreachable): certainly not applied. */
  isNotSent(): boolean {
    return this.kind === 'unreachable';
  }
  /**
   * This endpoint cannot serve right now (down, no leader, timed out, learner): try another one.
   * For writes, a `timeout`/`broken` failure may still have been applied: check before repeating.
   */
  isUnavailable(): boolean {
    if (this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'broken') return true;
    if (this.httpStatus === 503 || this.grpcCode === GRPC.unavailable) return true;
    return (
      this.says(MESSAGES.noLeader) ||
      this.says(MESSAGES.leaderChanged) ||
      this.says(MESSAGES.requestTimedOut) ||
      this.says(MESSAGES.stopped) ||
      this.isLearnerRpcRefused()
    );
  }
}

export function isEtcdError(err: unknown): err is EtcdError {
  return err instanceof EtcdError;
}
