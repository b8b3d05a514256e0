/** Where SSH goes for a host, and the name its key has in known_hosts (ssh_config HostName and HostKeyAlias). */
import type { SshTarget } from '../inventory/model.ts';

/** The host SSH connects to: ssh_config's HostName for the host's alias, else its address. */
export function sshTarget(spec: SshTarget): string {
  return spec.ssh.hostName ?? spec.address;
}

/**
 * The known_hosts entry the host key is looked up and recorded under: HostKeyAlias (without a port,
 * as OpenSSH does), else the SSH target and port.
 */
export function hostKeyEntry(spec: SshTarget): { name: string; port: number } {
  const alias = spec.ssh.hostKeyAlias;
  return alias === undefined ? { name: sshTarget(spec), port: spec.ssh.port } : { name: alias, port: 22 };
}
