/** Which credentials a connection offers: the inventory's key file and/or the ssh-agent. */
import ssh2 from 'ssh2';
import { TskvError } from '../errors.ts';
import { BoundedReadError, MIB, readBoundedFile } from '../inventory/bounded-read.ts';
import type { SshTarget } from '../inventory/model.ts';

const STEP = 'authenticate';

export interface AuthConfig {
  privateKey: Buffer | undefined;
  agent: string | undefined;
  /** Human-readable list of what is offered, for the "authentication failed" message. */
  offered: string[];
}

export async function resolveAuth(
  spec: SshTarget,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AuthConfig> {
  // ssh_config IdentityAgent names another socket, or none.
  const configured = spec.ssh.identityAgent;
  const agent = configured === 'none' ? undefined : (configured ?? env['SSH_AUTH_SOCK']) || undefined;
  const offered: string[] = [];
  let privateKey: Buffer | undefined;
  const file = spec.ssh.identityFile;
  if (file !== undefined) {
    let data: Buffer;
    try {
      data = await readBoundedFile(file, { maxBytes: MIB });
    } catch (err) {
      const why = err instanceof BoundedReadError ? `: ${err.reason}` : '';
      throw new TskvError('E_SSH_KEY_FILE', `cannot read ssh.identityFile ${file}${why}`, {
        host: spec.name,
        step: STEP,
        cause: err,
        fix: 'point ssh.identityFile at a private key file (a regular file of at most 1 MiB)',
      });
    }
    const parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error) {
      const encrypted = /encrypted|passphrase/i.test(parsed.message);
      if (!encrypted) {
        throw new TskvError(
          'E_SSH_KEY',
          `ssh.identityFile ${file} is not a usable private key: ${parsed.message}`,
          {
            host: spec.name,
            step: STEP,
          },
        );
      }
      if (agent === undefined) {
        throw new TskvError('E_SSH_KEY', `ssh.identityFile ${file} is encrypted with a passphrase`, {
          host: spec.name,
          step: STEP,
          fix: `load it into an ssh-agent (eval "$(ssh-agent)"; ssh-add ${file}) so SSH_AUTH_SOCK is set, or use a key without a passphrase`,
        });
      }
      offered.push(`${file} (encrypted: skipped, relying on the agent)`);
    } else {
      privateKey = data;
      offered.push(file);
    }
  }
  if (agent !== undefined) offered.push(`ssh-agent at ${agent}`);
  if (offered.length === 0) {
    throw new TskvError(
      'E_SSH_KEY',
      'no SSH credentials: ssh.identityFile is not set and SSH_AUTH_SOCK is empty',
      {
        host: spec.name,
        step: STEP,
        fix: 'set ssh.identityFile in the inventory or start an ssh-agent with the key loaded',
      },
    );
  }
  return { privateKey, agent, offered };
}
