/** The machine-side prerequisites of a lab: root, Debian packages, and the lab's SSH key. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TskvError } from '../controller/errors.ts';
import { type LabLayout, PROJECT_ROOT } from './names.ts';
import { run, runOk } from './run.ts';

const DEPS_SCRIPT = join(PROJECT_ROOT, 'scripts/lab-deps.sh');

/** Why the lab cannot run here, or undefined when it can (tests skip with this reason). */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux (network, mount and PID namespaces)';
  if (process.getuid?.() !== 0)
    return 'the lab needs root (namespaces, overlay mounts); run the tests as root';
  return undefined;
}

export function requireLab(): void {
  const reason = labUnavailableReason();
  if (reason) throw new TskvError('E_LAB_ROOT', reason, { fix: 'run as root on a Debian machine' });
}

/** Installs the Debian packages the lab needs that are missing (scripts/lab-deps.sh). */
export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const res = await run('sh', [DEPS_SCRIPT], { timeoutMs: 900_000 });
  for (const line of res.stderr.split('\n')) if (line.startsWith('lab-deps:')) log(line);
  if (res.code !== 0) {
    throw new TskvError(
      'E_LAB_DEPS',
      `installing the lab's Debian packages failed: ${res.stderr.trim().split('\n').slice(-5).join('\n')}`,
      {
        fix: `run ${DEPS_SCRIPT} as root and read its output`,
      },
    );
  }
}

/** The lab's own ed25519 key pair (created once); returns the public key line. */
export async function ensureKey(layout: LabLayout): Promise<string> {
  if (!existsSync(layout.keyPath) || !existsSync(`${layout.keyPath}.pub`)) {
    await runOk(
      'ssh-keygen',
      ['-q', '-t', 'ed25519', '-N', '', '-C', `tskv-lab-${layout.name}`, '-f', layout.keyPath],
      {
        input: 'y\n',
      },
    );
  }
  return readFileSync(`${layout.keyPath}.pub`, 'utf8').trim();
}
