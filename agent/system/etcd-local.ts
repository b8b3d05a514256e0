import { readFile } from 'node:fs/promises';
import { parseEnvFile } from '../api/env-file.ts';
import { AgentError } from '../errors.ts';

/** How tskv itself reaches the member on this host, from the env file etcd runs with. */
export interface LocalMember {
  /** A loopback client URL the member listens on (else its first advertised one). */
  endpoint: string;
  /** etcdctl's TLS flags (the member's own server certificate, which carries clientAuth); [] for http. */
  tlsArgs: string[];
  dataDir: string;
  /** Its initial-cluster-token ('' when unset). */
  token: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function urls(value: string | undefined): URL[] {
  return (value ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '')
    .flatMap((u) => {
      try {
        return [new URL(u)];
      } catch {
        return [];
      }
    });
}

/** The variables of etcd's env file; missing, a 404 saying `why` it matters. */
export async function readEtcdEnv(envFile: string, why: string): Promise<Record<string, string>> {
  let text: Buffer;
  try {
    text = await readFile(envFile);
  } catch {
    throw new AgentError('E_AGENT_NOT_FOUND', `${why}: the environment file ${envFile} is missing`, 404);
  }
  return parseEnvFile(text);
}

/** The member's settings as `envFile` gives them; refuses a host with no member configured. */
export async function localMember(envFile: string): Promise<LocalMember> {
  const env = await readEtcdEnv(envFile, 'no etcd member is configured here');
  const loopback = urls(env['ETCD_LISTEN_CLIENT_URLS']).find((u) => LOOPBACK_HOSTS.has(u.hostname));
  const url = loopback ?? urls(env['ETCD_ADVERTISE_CLIENT_URLS'])[0];
  const dataDir = env['ETCD_DATA_DIR'];
  if (!url || !dataDir) {
    throw new AgentError(
      'E_AGENT_NOT_FOUND',
      `${envFile} names no ${url ? 'ETCD_DATA_DIR' : 'client URL (ETCD_LISTEN_CLIENT_URLS)'}`,
      404,
    );
  }
  const tlsArgs: string[] = [];
  if (url.protocol === 'https:') {
    const files = [
      ['--cacert', env['ETCD_TRUSTED_CA_FILE']],
      ['--cert', env['ETCD_CERT_FILE']],
      ['--key', env['ETCD_KEY_FILE']],
    ] as const;
    for (const [flag, file] of files) {
      if (!file)
        throw new AgentError(
          'E_AGENT_NOT_FOUND',
          `${envFile} serves https but names no file for ${flag}`,
          404,
        );
      tlsArgs.push(`${flag}=${file}`);
    }
  }
  return {
    endpoint: url.origin,
    tlsArgs,
    dataDir,
    token: env['ETCD_INITIAL_CLUSTER_TOKEN'] ?? '',
  };
}
