/** Host key verification against the inventory's known_hosts file, under its policy. */
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TskvError } from '../errors.ts';
import type { SshTarget } from '../inventory/model.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { fingerprintSha256, keyTypeOfBlob } from './host-key.ts';
import { checkHostKey, formatKnownHostsLine, type KnownHostEntry, parseKnownHosts } from './known-hosts.ts';
import { hostKeyEntry } from './target.ts';

const STEP = 'verify host key';

export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TskvError('E_KNOWN_HOSTS', `cannot read known_hosts file ${file}`, { step: STEP, cause: err });
  }
}

/** Appends under a per-file lock, re-reading first, so concurrent connects never record a host twice. */
const fileLocks = new Map<string, Promise<unknown>>();

function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const prev = fileLocks.get(file) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  fileLocks.set(file, tail);
  void tail.then(() => {
    if (fileLocks.get(file) === tail) fileLocks.delete(file);
  });
  return next;
}

async function ensureFile(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  await handle.close();
}

function unknownKeyError(spec: SshTarget, presented: Buffer): TskvError {
  const fp = fingerprintSha256(presented);
  const { ssh } = spec;
  const { name: address, port } = hostKeyEntry(spec);
  const portFlag = port === 22 ? '' : ` -p ${port}`;
  // ssh-keyscan from here reaches neither a host behind a jump host or a proxy command, nor
  // records under a HostKeyAlias: then the line itself, with the key that was presented.
  const direct = !ssh.proxyCommand && !ssh.proxyJump && !ssh.hostKeyAlias && !ssh.reachedThrough;
  const line = formatKnownHostsLine(address, port, keyTypeOfBlob(presented), presented).trimEnd();
  const record = direct
    ? `ssh-keyscan${portFlag} ${shellQuote(address)} >> ${shellQuote(ssh.knownHosts)}`
    : `echo ${shellQuote(line)} >> ${shellQuote(ssh.knownHosts)}`;
  return new TskvError(
    'E_HOST_KEY_UNKNOWN',
    `host key of ${address}:${port} is not in ${ssh.knownHosts} (presented ${keyTypeOfBlob(presented)} key ${fp})`,
    {
      host: spec.name,
      step: STEP,
      fix:
        `check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then record it: ` +
        `${record}; or set ssh.hostKeyPolicy: accept-new`,
    },
  );
}

function changedKeyError(spec: SshTarget, presented: Buffer, expected: KnownHostEntry[]): TskvError {
  const { ssh } = spec;
  const { name: address, port } = hostKeyEntry(spec);
  const type = keyTypeOfBlob(presented);
  const sameTypeFirst = [...expected].sort((a, b) => Number(b.keyType === type) - Number(a.keyType === type));
  const known = sameTypeFirst
    .map((e) => `${e.keyType} ${fingerprintSha256(e.keyBlob)} (line ${e.line})`)
    .join(', ');
  return new TskvError(
    'E_HOST_KEY_CHANGED',
    `REMOTE HOST IDENTIFICATION HAS CHANGED for ${address}:${port}: ${ssh.knownHosts} expects ${known}, ` +
      `the host presented ${type} ${fingerprintSha256(presented)}. ` +
      `Someone could be intercepting the connection, or the host was reinstalled`,
    {
      host: spec.name,
      step: STEP,
      fix: `if the host really was reinstalled: ssh-keygen -f ${ssh.knownHosts} -R '${port === 22 ? address : `[${address}]:${port}`}', then connect again`,
    },
  );
}

export interface HostKeyRecorded {
  host: string;
  knownHosts: string;
  keyType: string;
  fingerprint: string;
}

/**
 * Decides whether the presented key is acceptable. Resolves when it is (recording it first under
 * accept-new), rejects with a TskvError naming host and fingerprints when it is not.
 */
export async function verifyHostKey(
  spec: SshTarget,
  presented: Buffer,
  onRecorded?: (info: HostKeyRecorded) => void,
): Promise<void> {
  const { ssh } = spec;
  const { name: address, port } = hostKeyEntry(spec);
  if (ssh.hostKeyPolicy === 'off') return; // ssh_config StrictHostKeyChecking no: warned on every run (inventory/ssh-settings.ts)
  const verdict = checkHostKey(await readKnownHosts(ssh.knownHosts), address, port, presented);
  if (verdict.kind === 'known') return;
  if (verdict.kind === 'revoked') {
    throw new TskvError(
      'E_HOST_KEY_REVOKED',
      `host key ${fingerprintSha256(presented)} of ${address} is marked @revoked in ${ssh.knownHosts} line ${verdict.line}`,
      { host: spec.name, step: STEP },
    );
  }
  if (verdict.kind === 'changed') throw changedKeyError(spec, presented, verdict.expected);
  if (ssh.hostKeyPolicy !== 'accept-new') throw unknownKeyError(spec, presented);
  await withFileLock(ssh.knownHosts, async () => {
    const again = checkHostKey(await readKnownHosts(ssh.knownHosts), address, port, presented);
    if (again.kind === 'known') return;
    if (again.kind === 'changed') throw changedKeyError(spec, presented, again.expected);
    const keyType = keyTypeOfBlob(presented);
    try {
      await ensureFile(ssh.knownHosts);
      const line = formatKnownHostsLine(address, port, keyType, presented);
      const current = await readFile(ssh.knownHosts, 'utf8');
      const sep = current.length > 0 && !current.endsWith('\n') ? '\n' : '';
      await appendFile(ssh.knownHosts, `${sep}${line}\n`, { mode: 0o600 });
    } catch (err) {
      throw new TskvError('E_KNOWN_HOSTS', `cannot record the host key of ${address} in ${ssh.knownHosts}`, {
        host: spec.name,
        step: STEP,
        cause: err,
      });
    }
    onRecorded?.({
      host: spec.name,
      knownHosts: ssh.knownHosts,
      keyType,
      fingerprint: fingerprintSha256(presented),
    });
  });
}
