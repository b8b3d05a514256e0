/** Where SSH goes for a host, and the name its key has in known_hosts (ssh_config HostName and HostKeyAlias). */
import type { HostSpec } from '../inventory/model.ts';

/** The host SSH connects to: ssh_config's HostName for the host's alias, else its address. */
export function sshTarget(spec: HostSpec): string {
  return spec.ssh.hostName ?? spec.address;
}

/** The name the host key is looked up and recorded under: HostKeyAlias, else the SSH target. */
export function hostKeyName(spec: HostSpec): string {
  return spec.ssh.hostKeyAlias ?? sshTarget(spec);
}
