/**
 * Debian's `ansible` package for the benchmark's baseline, installed with apt-get when
 * `ansible-playbook` is missing (a fresh CI machine has only what the project's scripts install).
 * It brings the collections the playbook uses (ansible.posix, community.crypto), and ansible-core
 * the python3-cryptography that community.crypto needs on the controller.
 */
import { TskvError } from '../../controller/errors.ts';
import { run } from '../../lab/run.ts';

async function ansibleVersion(): Promise<string | undefined> {
  const r = await run('ansible-playbook', ['--version']).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.split('\n')[0]?.trim() : undefined;
}

async function aptGet(args: string[]): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return run('apt-get', ['-y', '-q', ...args], { env, timeoutMs: 900_000 });
}

/** A collection's version as `ansible-galaxy collection list` shows it; undefined when it is missing. */
async function collectionVersion(name: string): Promise<string | undefined> {
  const r = await run('ansible-galaxy', ['collection', 'list', name]).catch(() => undefined);
  const row = r?.stdout.split('\n').find((line) => line.split(/\s+/)[0] === name);
  return row?.trim().split(/\s+/)[1];
}

/** The playbook's collections: community.crypto's version, or a TskvError naming what is missing. */
async function requireCollections(): Promise<string> {
  const wanted = ['ansible.posix', 'community.crypto'];
  const versions = await Promise.all(wanted.map(collectionVersion));
  const missing = wanted.filter((_, i) => versions[i] === undefined);
  if (missing.length > 0) {
    throw new TskvError('E_BENCH_ANSIBLE', `the Ansible collections ${missing.join(' and ')} are missing`, {
      fix: `install them (Debian's ansible package has both, or: ansible-galaxy collection install ${missing.join(' ')})`,
    });
  }
  return versions[1]!;
}

/**
 * The version line of `ansible-playbook --version` and community.crypto's version, installing
 * Debian's `ansible` first if needed.
 */
export async function ensureAnsible(log: (line: string) => void): Promise<string> {
  const version = await installedAnsible(log);
  return `${version}, community.crypto ${await requireCollections()}`;
}

async function installedAnsible(log: (line: string) => void): Promise<string> {
  const have = await ansibleVersion();
  if (have) return have;
  if (process.getuid?.() !== 0) {
    throw new TskvError('E_BENCH_ANSIBLE', 'ansible-playbook is missing and installing it needs root', {
      fix: 'run the benchmark as root (it installs Debian’s ansible package)',
    });
  }
  log('installing Debian package ansible (apt-get)');
  const install = ['install', '--no-install-recommends', 'ansible'];
  let r = await aptGet(install);
  if (r.code !== 0) {
    await aptGet(['update']);
    r = await aptGet(install);
  }
  const version = await ansibleVersion();
  if (r.code !== 0 || !version) {
    throw new TskvError('E_BENCH_ANSIBLE', `installing ansible failed: ${r.stderr.trim().slice(-500)}`, {
      fix: 'run apt-get install ansible as root and read its output',
    });
  }
  return version;
}
