/**
 * Every error code tskv reports, each with the exit code it ends the CLI with and what it means.
 * `TskvError` takes its exit code from here; a code that is not in this table does not compile.
 */
import type { AgentErrorCode } from '../agent/api/index.ts';

/** Exit codes the CLI promises: 0 ok, 1 an operation or check failed, 2 bad input (usage or inventory). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export interface ErrorCodeInfo {
  exit: typeof EXIT_FAILED | typeof EXIT_BAD_INPUT;
  meaning: string;
}

const failed = (meaning: string): ErrorCodeInfo => ({ exit: EXIT_FAILED, meaning });
const badInput = (meaning: string): ErrorCodeInfo => ({ exit: EXIT_BAD_INPUT, meaning });

/**
 * The codes a host's agent puts in its error bodies (agent/api/errors.ts); the controller re-raises
 * them as they are. `satisfies` keeps this list equal to the agent's.
 */
const AGENT_CODES = {
  E_AGENT_BAD_REQUEST: failed('the agent (or the client, before sending) found the request invalid'),
  E_AGENT_NOT_FOUND: failed('the agent has no such route, or a file or probe the request names is missing'),
  E_AGENT_INTERNAL: failed('the agent failed in a way it has no better code for'),
  E_AGENT_ADDR_IN_USE: failed('the agent cannot listen on a port: another process holds it'),
  E_AGENT_ADDR_NOT_AVAILABLE: failed('the agent cannot listen on an address: it is not one of the host'),
  E_AGENT_PERMISSION: failed('the agent lacks a privilege (a low port, CAP_SYS_TIME)'),
  E_AGENT_REFUSED: failed('the agent refused a request outside what tskv needs (a path, a binary, a unit)'),
  E_AGENT_COMMAND_FAILED: failed('a command or system call the agent ran on the host failed'),
  E_AGENT_LOCKED: failed('another tskv run holds the cluster lock on this host'),
  E_AGENT_ACCOUNT: failed(
    "the host's etcd account cannot run etcd (uid 0, not a system account) or could not be created",
  ),
  E_AGENT_NO_ROOM: failed('a host has too little free space for what tskv would write there (a snapshot)'),
  E_AGENT_DOWNLOAD: failed('a host could not download what it was asked to (etcd.fetch: host)'),
  E_AGENT_SHA256: failed('what a host downloaded does not have the sha256 tskv expects (etcd.fetch: host)'),
} satisfies Record<AgentErrorCode, ErrorCodeInfo>;

export const ERROR_CODES = {
  E_INPUT: badInput('bad input: arguments, inventory, environment or templates'),
  E_INTERNAL: failed('a bug in tskv: something it does not expect to fail failed'),

  // SSH
  E_SSH_KEY: failed('the SSH identity file cannot be parsed or decrypted'),
  E_SSH_KEY_FILE: badInput(
    'the identity file the inventory names is not a readable regular file of at most 1 MiB',
  ),
  E_SSH_AUTH: failed('the host refused the SSH user with every key offered'),
  E_SSH_TIMEOUT: failed('SSH connecting, or a command run over SSH, timed out'),
  E_SSH_UNREACHABLE: failed('the SSH connection could not be made (refused, no route, proxy command failed)'),
  E_SSH_CONNECT: failed('connecting over SSH failed with an error that is not a TskvError'),
  E_SSH_POOL_CLOSED: failed('a connection was asked of a closed connection pool'),
  E_SSH_LOST: failed('the SSH connection dropped'),
  E_SSH_CHANNEL: failed('an SSH channel (a command, a forwarded socket) could not be opened'),
  E_SSH_EXEC: failed('a command over SSH ended without an exit status, or its input failed'),
  E_SUDO: failed('the SSH user cannot run sudo without a password'),
  E_UPLOAD: failed('copying a file to a host failed'),
  E_KNOWN_HOSTS: failed('the known_hosts file cannot be read or written'),
  E_HOST_KEY: failed('the host key check failed for another reason'),
  E_HOST_KEY_UNKNOWN: failed('the host key is not in known_hosts and the policy does not accept new keys'),
  E_HOST_KEY_CHANGED: failed('the host presented a key other than the one known_hosts holds'),
  E_HOST_KEY_REVOKED: failed('the host key is marked @revoked in known_hosts'),

  // The agent, as the controller sees it
  ...AGENT_CODES,
  E_AGENT_NOT_BUILT: failed('the agent build is missing or unreadable on the controller'),
  E_AGENT_INSTALL: failed('copying or installing the agent on a host failed'),
  E_AGENT_START: failed('the agent did not start, or started and does not answer'),
  E_AGENT_VERSION: failed('the agent on a host is not the build this controller expects'),
  E_AGENT_TIMEOUT: failed('the agent did not answer a request in time'),
  E_AGENT_UNREACHABLE: failed('the agent cannot be reached over its socket'),
  E_AGENT_PROTOCOL: failed('the agent answered something that is not its protocol'),

  // etcd
  E_ETCD: failed('etcd answered a request with an error'),
  E_ETCD_BAD_RESPONSE: failed('etcd answered with a reply of the wrong shape'),
  E_ETCD_UNREACHABLE: failed('etcd cannot be connected to: the request was not sent'),
  E_ETCD_TIMEOUT: failed('an etcd request timed out or its connection broke: it may have been applied'),
  E_ETCD_NO_ENDPOINTS: failed('an etcd client was made with no endpoints'),
  E_ETCD_NO_LEADER: failed('no reachable member is the leader, so leadership cannot be moved'),
  E_ETCD_DOWNLOAD: failed('the etcd tarball cannot be downloaded'),
  E_ETCD_SHA256: failed('the etcd tarball does not have the sha256 the inventory expects'),
  E_ETCD_START: failed('etcd did not start on a host (its last log lines say why)'),
  E_TLS_OTHER_CA: failed(
    "the hosts trust another CA than the inventory names (the PKI folder's, or tls.ca with tls.mode files)",
  ),
  E_TLS_FILES: badInput(
    "tls.mode files: the operator's CA, client or member certificates are missing, unreadable or unfit (chain, SANs, key, validity, usage)",
  ),
  E_TLS_CHANGE: failed(
    'the inventory asks to move a running TLS cluster back to plain HTTP, which tskv does not do',
  ),
  E_NEEDS_DOWNTIME: failed('the change would lose quorum for a moment: it needs --allow-downtime'),
  E_MEMBER_ADDRESS: failed(
    "a member's DNS name does not resolve on the controller, so the firewalls cannot let it in by address",
  ),
  E_VERSION_CHANGE: failed('the etcd version change over existing data is one etcd does not support'),
  E_MIXED_VERSIONS: failed('the members run more than one etcd version other than the inventory says'),
  E_UPGRADE_FAILED: failed(
    'a member did not come up on the new etcd version: it was rolled back, the roll stopped',
  ),
  E_CLUSTER_VERSION: failed("the cluster version did not reach the members' new minor version in time"),

  // Deploy: the cluster, the hosts and the inventory disagree
  E_PREFLIGHT: failed('a preflight check failed: nothing was changed'),
  E_CLOCK_SKEW: failed('host clocks differ too much and could not be fixed'),
  E_MEMBERSHIP: failed('the live member list and the inventory disagree'),
  E_DATA_DIR_CHANGED: failed("a running member's data dir is not the inventory's dataDir"),
  E_MEMBER_NO_DATA: failed('a started member has lost its data dir'),
  E_STRAY_ETCD: failed("etcd runs on a host outside tskv's control"),
  E_CLUSTER_UNKNOWN: failed('etcd runs but no member answers the member list'),
  E_EXISTING_DATA: failed('no member runs but some hold data: starting them needs --allow-existing-data'),
  E_VERIFY: failed('the deployed cluster failed its final verification'),

  // Plans and their runs
  E_NOT_CONFIRMED: failed('a change needed confirmation and did not get it'),
  E_PLAN_CHANGED: failed('the cluster changed while the plan waited for an answer'),
  E_LOCKED: failed('another tskv run is changing the cluster (it holds the cluster lock)'),
  E_LOCK_LOST: failed(
    'the run lost the cluster lock while it ran (broken by another run, or its connection dropped)',
  ),
  E_REFUSED: failed('a member change or replacement was refused before anything changed'),
  E_STEP_FAILED: failed('a step of a plan failed'),
  E_HOST_FAILED: failed('a step on one host failed'),
  E_TIMEOUT: failed('a condition was still not met when the wait ran out'),
  E_CONCURRENT_CHANGE: failed("another tskv run changed the cluster's replace or recover record meanwhile"),
  E_JOURNAL_INVALID: failed('the replacement record in etcd is not one tskv wrote'),

  // Live cluster and membership changes
  E_NO_HOSTS: failed('no inventory host could be reached'),
  E_NO_CLUSTER: failed('no member answered the member list'),
  E_NO_VOTER: failed('no healthy voting member is reachable'),
  E_HOST_UNREACHABLE: failed('a host a replacement needs is not reachable over SSH'),
  E_LIVE_MEMBER: failed('a member still runs on the host to be cleared'),
  E_WRONG_HOST: failed("the host reached at a leaving member's address runs another member"),
  E_MEMBER_GONE: failed('the member is no longer in the member list'),
  E_NOT_STARTED: failed('the learner has not started, so it is not promoted'),
  E_UNHEALTHY: failed('members are unhealthy and a change now could lose quorum'),
  E_RECOVER: failed('recovery from a lost quorum could not use the surviving member'),
  E_SNAPSHOT: failed("no snapshot could be taken, checked or copied (each host's reason is given)"),
  E_SNAPSHOT_NO_ROOM: failed('a host or the controller has too little free space for a snapshot'),
  E_NO_HEALTHY_MEMBER: failed('no member (or not the one asked for) is healthy to run etcdctl on'),

  // Restore from a snapshot
  E_SNAPSHOT_MISSING: badInput('the snapshot file given is not there (or not a regular file)'),
  E_SNAPSHOT_CORRUPT: failed(
    'the snapshot file is truncated, corrupt or not an etcd snapshot: nothing was changed',
  ),
  E_SNAPSHOT_OTHER_CLUSTER: failed(
    "the snapshot's members are not the inventory's: restoring it needs --yes",
  ),
  E_NO_SPACE: failed('a host has no room for the snapshot or the restored data: nothing was changed'),

  // The test lab (`tskv lab`)
  E_LAB_ROOT: failed('the lab needs root on a Debian machine'),
  E_LAB_DEPS: failed("installing the lab's Debian packages failed"),
  E_LAB_SUBNET: failed("the lab's subnet is already in use"),
  E_LAB_NOT_UP: failed('the lab is not up'),
  E_LAB_BOOT: failed('a lab host did not boot'),
  E_LAB_EXEC: failed('a command the lab ran failed'),
  E_LAB_USER: failed('an invalid lab user name'),
  E_LAB_SKEW: failed('an invalid lab clock skew'),
  E_LAB_ETCD: failed('the lab etcd tarball cannot be made from the Debian packages'),
  E_LAB_DOWN: failed('tearing the lab down failed or left network namespaces behind'),

  // Benchmarks (scripts/bench)
  E_BENCH_ANSIBLE: failed('ansible, to compare against, is missing and cannot be installed'),
  E_BENCH_BUSY: failed('another benchmark is using the lab'),
} satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
