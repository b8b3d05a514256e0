import { parseArgs } from 'node:util';
import { AGENT_API_VERSION } from './api/index.ts';
import { buildId } from './build-id.ts';
import { closeAllProbes } from './handlers/probe.ts';
import { IdleTimer, trackConnections } from './idle.ts';
import { createAgentServer } from './server.ts';
import { listenPrivate } from './socket.ts';
import { supervise } from './supervisor/supervise.ts';

const USAGE = `usage: tskv-agent serve --socket PATH [--owner UID] [--idle-timeout SECONDS] [--run-dir DIR]
       tskv-agent supervise --env FILE --binary BIN --log FILE --pidfile FILE [--state FILE] [--lock FILE] [--uid UID --gid GID]
       tskv-agent version`;

/** How long a resident agent waits without a connection before it exits, unless told otherwise. */
const DEFAULT_IDLE_TIMEOUT_S = 600;
/** How often the agent checks that its socket is still its own. */
const SOCKET_CHECK_MS = 5_000;

function fail(message: string): never {
  process.stderr.write(`tskv-agent: ${message}\n`);
  process.exit(2);
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} tskv-agent[${process.pid}]: ${message}\n`);
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`${flag} needs a positive whole number, got '${value}'`);
  return n;
}

/**
 * Serve on the socket until idle (no connection for --idle-timeout seconds), SIGTERM, or the
 * socket is taken away; outlives the SSH channel that started it, so the next tskv command on
 * this host reaches it directly. When another agent already serves the socket, say so and exit.
 */
async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      socket: { type: 'string' },
      owner: { type: 'string' },
      'idle-timeout': { type: 'string' },
      // Tests: where the cluster lock lives instead of /run/tskv.
      'run-dir': { type: 'string' },
    },
    strict: true,
  });
  if (!values.socket?.startsWith('/')) fail(`--socket needs an absolute path\n${USAGE}`);
  const ownerUid = values.owner === undefined ? undefined : Number(values.owner);
  if (ownerUid !== undefined && !Number.isInteger(ownerUid)) fail('--owner needs a numeric uid');
  const idleS = positiveInteger('--idle-timeout', values['idle-timeout']) ?? DEFAULT_IDLE_TIMEOUT_S;
  const id = buildId();
  let exitAsked = false;
  let idle: IdleTimer | undefined;
  const server = createAgentServer({
    buildId: id,
    exitWhenIdle: () => {
      exitAsked = true;
      idle?.unreachable();
    },
    ...(values['run-dir'] ? { runDir: values['run-dir'] } : {}),
  });
  const socket = await listenPrivate(server, {
    path: values.socket,
    ...(ownerUid === undefined ? {} : { ownerUid }),
  });
  if (socket === null) {
    log(`${values.socket} is served by a live agent already; exiting`);
    process.stdout.write(`${JSON.stringify({ alreadyRunning: true, socket: values.socket })}\n`);
    return;
  }
  let stopping = false;
  const stop = (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    closeAllProbes();
    // The socket goes while it is still ours and still listening (a start that finds it live leaves
    // it alone). The server is not closed: libuv unlinks the path on close, even when another agent
    // has put its socket there since.
    socket.remove();
    server.closeAllConnections();
    process.exit(code);
  };
  idle = new IdleTimer(idleS * 1000, () =>
    stop(
      0,
      exitAsked
        ? 'asked to exit once idle'
        : socket.stillOurs()
          ? `no connection for ${idleS} s`
          : 'socket removed or replaced',
    ),
  );
  trackConnections(server, idle);
  setInterval(() => {
    if (!socket.stillOurs()) idle.unreachable();
  }, SOCKET_CHECK_MS).unref();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(0, signal));
  process.on('uncaughtException', (err) => {
    log(err.stack ?? err.message);
    stop(1, 'uncaught exception');
  });
  // The start script reads only the ready line, then stops reading: later writes must not matter.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const ready = {
    ready: true,
    apiVersion: AGENT_API_VERSION,
    buildId: id,
    pid: process.pid,
    socket: values.socket,
  };
  log(`serving on ${values.socket} (build ${id}, idle timeout ${idleS} s)`);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

/**
 * Run etcd as a supervised child (started detached by the etcdService handler where systemd does
 * not run, always with --uid and --gid: the etcd user's). Without them etcd runs as the
 * supervisor's own user, as supervisors of agents before API version 5 ran it (as root).
 */
function superviseCommand(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      env: { type: 'string' },
      binary: { type: 'string' },
      log: { type: 'string' },
      pidfile: { type: 'string' },
      lock: { type: 'string' },
      state: { type: 'string' },
      uid: { type: 'string' },
      gid: { type: 'string' },
    },
    strict: true,
  });
  const { env, binary, log, pidfile, state, lock } = values;
  if (!env || !binary || !log || !pidfile)
    fail(`supervise needs --env, --binary, --log and --pidfile\n${USAGE}`);
  if ((values.uid === undefined) !== (values.gid === undefined))
    fail('supervise takes --uid and --gid together');
  const id = (flag: string, value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n === 0)
      fail(`${flag} needs a numeric id other than root's 0, got '${value}'`);
    return n;
  };
  const runAs =
    values.uid === undefined || values.gid === undefined
      ? undefined
      : { uid: id('--uid', values.uid), gid: id('--gid', values.gid) };
  const stateFile = state ?? `${pidfile.replace(/\.pid$/, '')}.json`;
  const lockFile = lock ?? `${pidfile.replace(/\.pid$/, '')}.lock`;
  supervise({
    envFile: env,
    binary,
    logFile: log,
    pidFile: pidfile,
    stateFile,
    lockFile,
    ...(runAs ? { runAs } : {}),
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest);
      return;
    case 'supervise':
      superviseCommand(rest);
      return;
    case 'version':
      process.stdout.write(`${buildId()}\n`);
      return;
    default:
      fail(USAGE);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(err instanceof Error ? err.message : String(err));
});
