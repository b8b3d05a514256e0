/**
 * Debian's `ansible` package for the benchmark's baseline, installed with apt-get when
 * `ansible-playbook` is missing (a fresh CI machine has only what the project's scripts install).
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

/** The version line of `ansible-playbook --version`, installing Debian's `ansible` first if needed. */
export async function ensureAnsible(log: (line: string) => void): Promise<string> {
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
