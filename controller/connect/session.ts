/** One verified, authenticated ssh2 session (the only place ssh2's Client is created). */
import type { Duplex } from 'node:stream';
import ssh2, {
  type AgentAuthMethod,
  type ConnectConfig,
  type PublicKeyAuthMethod,
  type ServerHostKeyAlgorithm,
} from 'ssh2';
import { TskvError } from '../errors.ts';
import type { SshTarget } from '../inventory/model.ts';
import { resolveAuth } from './auth.ts';
import { preferredHostKeyAlgorithms } from './host-key.ts';
import { type HostKeyRecorded, readKnownHosts, verifyHostKey } from './host-key-check.ts';
import { countIncomingAsAlive } from './keepalive.ts';
import { knownKeyTypes } from './known-hosts.ts';
import { type ProxyChannel, spawnProxyCommand } from './proxy-command.ts';
import { hostKeyEntry, sshTarget } from './target.ts';

export interface SessionOptions {
  /** Called after an unknown host key was appended to known_hosts (policy accept-new). */
  onHostKeyRecorded?(info: HostKeyRecorded): void;
  /** Environment to read SSH_AUTH_SOCK from (tests). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** SSH keepalive period; a connection is declared lost after 3 unanswered ones. Default 5000. */
  keepaliveIntervalMs?: number;
}

export interface OpenSession {
  client: ssh2.Client;
  /** The proxy command carrying it, when the spec has one and no sock was given. */
  proxy: ProxyChannel | undefined;
}

const STEP = 'connect';
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;

/** How long a failed connection's message waits for its proxy command to end and say why. */
const PROXY_STDERR_WAIT_MS = 1000;

function untilClosed(proxy: ProxyChannel, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([proxy.closed, deadline]).finally(() => clearTimeout(timer));
}

function describeFailure(
  spec: SshTarget,
  label: string,
  err: Error & { level?: string; code?: string },
  offered: string[],
  proxy: ProxyChannel | undefined,
): TskvError {
  const { ssh } = spec;
  const proxyNote = proxy
    ? ` (via proxy command \`${proxy.command}\`${proxy.exit() ? `, ${proxy.exit()}` : ''}${proxy.stderr() ? `: ${proxy.stderr()}` : ''})`
    : '';
  const opts = { host: spec.name, step: STEP, cause: err };
  if (err.level === 'client-authentication') {
    return new TskvError('E_SSH_AUTH', `${label} refused user ${ssh.user} (offered: ${offered.join(', ')})`, {
      ...opts,
      step: 'authenticate',
      fix: `add the public key to ~${ssh.user}/.ssh/authorized_keys on the host, or fix ssh.user / ssh.identityFile`,
    });
  }
  if (err.level === 'client-timeout') {
    return new TskvError(
      'E_SSH_TIMEOUT',
      `no SSH session with ${label} within ${ssh.connectTimeoutMs} ms${proxyNote}`,
      {
        ...opts,
        fix: 'check that the host is up, sshd runs and the port is reachable (ssh.connectTimeoutMs)',
      },
    );
  }
  const code = err.code ? ` (${err.code})` : '';
  return new TskvError('E_SSH_UNREACHABLE', `cannot connect to ${label}${code}: ${err.message}${proxyNote}`, {
    ...opts,
    fix: 'check that the host is up and sshd listens on that port',
  });
}

/**
 * Connects to spec.address:spec.ssh.port over `sock` (a channel through a jump host) or else through
 * the spec's proxy command or TCP; verifies the host key against known_hosts and authenticates.
 * `label` names the endpoint in errors ("10.0.0.5:22", "jump host 10.0.0.5:22").
 */
export async function openSession(
  spec: SshTarget,
  label: string,
  options: SessionOptions = {},
  sock?: Duplex,
): Promise<OpenSession> {
  const { ssh } = spec;
  const address = sshTarget(spec);
  const auth = await resolveAuth(spec, options.env);
  const keyEntry = hostKeyEntry(spec);
  const known = knownKeyTypes(await readKnownHosts(ssh.knownHosts), keyEntry.name, keyEntry.port);
  const proxy =
    !sock && ssh.proxyCommand ? spawnProxyCommand(ssh.proxyCommand, address, ssh.port, ssh.user) : undefined;
  const client = new ssh2.Client();
  let hostKeyError: TskvError | undefined;

  const keepaliveInterval = options.keepaliveIntervalMs ?? ssh.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS;
  const config: ConnectConfig = {
    host: address,
    port: ssh.port,
    username: ssh.user,
    readyTimeout: ssh.connectTimeoutMs,
    keepaliveInterval,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    algorithms: { serverHostKey: preferredHostKeyAlgorithms(known) as ServerHostKeyAlgorithm[] },
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      verifyHostKey(spec, key, options.onHostKeyRecorded).then(
        () => verify(true),
        (err: unknown) => {
          hostKeyError =
            err instanceof TskvError
              ? err
              : new TskvError('E_HOST_KEY', `host key check of ${label} failed`, {
                  host: spec.name,
                  cause: err,
                });
          verify(false);
        },
      );
    },
  };
  if (auth.privateKeys.length === 1) config.privateKey = auth.privateKeys[0]!;
  if (auth.agent) config.agent = auth.agent;
  if (auth.privateKeys.length > 1) {
    // Several key files (ssh_config IdentityFile lines): each in turn, then the agent, as OpenSSH.
    const methods: (PublicKeyAuthMethod | AgentAuthMethod)[] = auth.privateKeys.map((key) => ({
      type: 'publickey',
      username: ssh.user,
      key,
    }));
    if (auth.agent) methods.push({ type: 'agent', username: ssh.user, agent: auth.agent });
    config.authHandler = methods;
  }
  if (sock) config.sock = sock;
  else if (proxy) config.sock = proxy.stream;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      cleanup();
      client.on('error', () => undefined); // ssh2 may report the same failure again while closing
      const fail = (): void => {
        client.destroy();
        proxy?.kill();
        sock?.destroy();
        reject(hostKeyError ?? describeFailure(spec, label, err, auth.offered, proxy));
      };
      // A proxy command that failed says why on stderr, which may still be on its way: the message
      // waits (a moment at most) for the command to end, so that it carries the reason.
      if (proxy && !hostKeyError) void untilClosed(proxy, PROXY_STDERR_WAIT_MS).then(fail);
      else fail();
    };
    const onClose = (): void => onError(new Error('the connection closed before the SSH session was ready'));
    const onReady = (): void => {
      cleanup();
      // A ping's reply can wait behind an upload on a slow link: bytes from the host count too.
      countIncomingAsAlive(client, keepaliveInterval);
      resolve();
    };
    const cleanup = (): void => {
      client.off('error', onError).off('close', onClose).off('ready', onReady);
    };
    client.on('error', onError).on('close', onClose).on('ready', onReady);
    try {
      client.connect(config);
      // Small requests (an HTTP call over a channel is two SSH packets) must not wait for delayed
      // ACKs: with Nagle on, each agent or etcd call cost ~40 ms. (A proxy command sets its own.)
      client.setNoDelay(true);
    } catch (err) {
      onError(err as Error);
    }
  });
  return { client, proxy };
}
