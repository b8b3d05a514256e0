/** Which credentials a connection offers: the inventory's key file and/or the ssh-agent. */
import ssh2 from 'ssh2';
import { TskvError } from '../errors.ts';
import { BoundedReadError, MIB, readBoundedFile } from '../inventory/bounded-read.ts';
import type { SshTarget } from '../inventory/model.ts';

const STEP = 'authenticate';

export interface AuthConfig {
  /** The usable key files' contents, in the order they are tried. */
  privateKeys: Buffer[];
  agent: string | undefined;
  /** Human-readable list of what is offered, for the "authentication failed" message. */
  offered: string[];
}

/** A key file's contents, or undefined when it is encrypted (left to the agent); throws when it is unusable. */
async function readKey(
  spec: SshTarget,
  file: string,
  agent: string | undefined,
): Promise<Buffer | undefined> {
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
  if (!(parsed instanceof Error)) return data;
  if (!/encrypted|passphrase/i.test(parsed.message)) {
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
  return undefined;
}

export async function resolveAuth(
  spec: SshTarget,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AuthConfig> {
  // ssh_config IdentityAgent names another socket, or none.
  const configured = spec.ssh.identityAgent;
  let agent = configured === 'none' ? undefined : (configured ?? env['SSH_AUTH_SOCK']) || undefined;
  const offered: string[] = [];
  const privateKeys: Buffer[] = [];
  let encrypted = false;
  // The identity file must be usable; ssh_config's further ones are skipped when not, as OpenSSH does.
  const files = [
    ...(spec.ssh.identityFile === undefined ? [] : [{ file: spec.ssh.identityFile, optional: false }]),
    ...(spec.ssh.moreIdentityFiles ?? []).map((file) => ({ file, optional: true })),
  ];
  for (const { file, optional } of files) {
    let key: Buffer | undefined;
    try {
      key = await readKey(spec, file, agent);
    } catch (err) {
      if (!optional) throw err;
      offered.push(`${file} (skipped: ${err instanceof TskvError ? err.message : String(err)})`);
      continue;
    }
    if (key) privateKeys.push(key);
    else encrypted = true;
    offered.push(key ? file : `${file} (encrypted: skipped, relying on the agent)`);
  }
  // IdentitiesOnly: the agent's other keys are not offered (too many offers exhaust sshd's
  // MaxAuthTries); it still serves when a configured key is encrypted (only the agent holds it).
  if (spec.ssh.identitiesOnly && privateKeys.length > 0 && !encrypted) agent = undefined;
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
  return { privateKeys, agent, offered };
}
