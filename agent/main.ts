import { parseArgs } from 'node:util';
import { AGENT_API_VERSION } from './api/index.ts';
import { buildId } from './build-id.ts';
import { closeAllProbes } from './handlers/probe.ts';
import { createAgentServer } from './server.ts';
import { listenPrivate } from './socket.ts';
import { supervise } from './supervisor/supervise.ts';

const USAGE = `usage: tskv-agent serve --socket PATH [--owner UID]
       tskv-agent supervise --env FILE --binary BIN --log FILE --pidfile FILE [--state FILE]
       tskv-agent version`;

function fail(message: string): never {
  process.stderr.write(`tskv-agent: ${message}\n`);
  process.exit(2);
}

/**
 * Serve until stdin closes (the SSH channel that started the agent), then remove the socket and
 * exit: nothing is left running on the host after a tskv command.
 */
async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { socket: { type: 'string' }, owner: { type: 'string' } },
    strict: true,
  });
  if (!values.socket?.startsWith('/')) fail(`--socket needs an absolute path\n${USAGE}`);
  const ownerUid = values.owner === undefined ? undefined : Number(values.owner);
  if (ownerUid !== undefined && !Number.isInteger(ownerUid)) fail('--owner needs a numeric uid');
  const id = buildId();
  const server = createAgentServer({ buildId: id });
  const removeSocket = await listenPrivate(server, {
    path: values.socket,
    ...(ownerUid === undefined ? {} : { ownerUid }),
  });
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    closeAllProbes();
    removeSocket();
    server.closeAllConnections();
    server.close();
    process.exit(code);
  };
  process.stdin.on('end', () => stop(0));
  process.stdin.on('close', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(0));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`tskv-agent: ${err.stack ?? err.message}\n`);
    stop(1);
  });
  process.stdout.on('error', () => stop(0));
  const ready = {
    ready: true,
    apiVersion: AGENT_API_VERSION,
    buildId: id,
    pid: process.pid,
    socket: values.socket,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

/** Run etcd as a supervised child (started detached by the etcdService handler where systemd does not run). */
function superviseCommand(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      env: { type: 'string' },
      binary: { type: 'string' },
      log: { type: 'string' },
      pidfile: { type: 'string' },
      state: { type: 'string' },
    },
    strict: true,
  });
  const { env, binary, log, pidfile, state } = values;
  if (!env || !binary || !log || !pidfile)
    fail(`supervise needs --env, --binary, --log and --pidfile\n${USAGE}`);
  const stateFile = state ?? `${pidfile.replace(/\.pid$/, '')}.json`;
  supervise({ envFile: env, binary, logFile: log, pidFile: pidfile, stateFile });
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
