/**
 * An Ansible inventory (JSON, read by Ansible's yaml inventory plugin) for the benchmark's
 * playbook, made from a tskv inventory: the same hosts, SSH settings (proxy command, key,
 * known_hosts) and etcd settings, so both tools deploy the same cluster the same way. The
 * playbook runs TLS as tls.mode auto does, with its own PKI folder on the controller.
 */
import type { Inventory } from '../../controller/inventory/model.ts';

/** OpenSSH options Ansible passes to every ssh/sftp/scp it runs (`ansible_ssh_common_args`). */
export function sshCommonArgs(inv: Inventory): string {
  const ssh = inv.hosts[0]?.ssh;
  if (!ssh) return '';
  const q = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const args = [
    `-o UserKnownHostsFile=${q(ssh.knownHosts)}`,
    `-o StrictHostKeyChecking=${ssh.hostKeyPolicy === 'strict' ? 'yes' : 'accept-new'}`,
    `-o ConnectTimeout=${Math.ceil(ssh.connectTimeoutMs / 1000)}`,
  ];
  if (ssh.identityFile) args.push('-o IdentitiesOnly=yes');
  if (ssh.proxyCommand) args.push(`-o ProxyCommand=${q(ssh.proxyCommand)}`);
  return args.join(' ');
}

export interface AnsibleInventoryDoc {
  all: {
    children: {
      etcd: {
        hosts: Record<string, { ansible_host: string; etcd_data_dir: string }>;
        vars: Record<string, unknown>;
      };
    };
  };
}

/**
 * The inventory as data; every host must share one SSH user, port and key (as in the lab).
 * `pkiDir`: where the playbook keeps its CA and certificates on the controller.
 */
export function ansibleInventory(inv: Inventory, pkiDir: string): AnsibleInventoryDoc {
  const first = inv.hosts[0];
  if (!first) throw new Error('the inventory has no hosts');
  if (/^https?:/.test(inv.etcd.source))
    throw new Error('the Ansible baseline copies a local etcd tarball, not a URL');
  if (inv.tls.mode !== 'auto' || inv.cluster.clientSources)
    throw new Error('the Ansible baseline does what tls.mode auto does, without cluster.clientSources');
  const hosts = Object.fromEntries(
    inv.hosts.map((h) => [h.name, { ansible_host: h.address, etcd_data_dir: h.dataDir }]),
  );
  const vars: Record<string, unknown> = {
    ansible_user: first.ssh.user,
    ansible_port: first.ssh.port,
    ansible_ssh_common_args: sshCommonArgs(inv),
    ansible_python_interpreter: '/usr/bin/python3',
    etcd_version: inv.etcd.version,
    etcd_tarball: inv.etcd.source,
    etcd_token: inv.cluster.token,
    etcd_client_port: inv.cluster.clientPort,
    etcd_peer_port: inv.cluster.peerPort,
    etcd_flags: inv.etcd.flags,
    etcd_pki_local: pkiDir,
  };
  if (first.ssh.identityFile) vars['ansible_ssh_private_key_file'] = first.ssh.identityFile;
  return { all: { children: { etcd: { hosts, vars } } } };
}

/** The inventory file's text (JSON is YAML; Ansible reads `.json` with its yaml plugin). */
export function ansibleInventoryText(inv: Inventory, pkiDir: string): string {
  return `${JSON.stringify(ansibleInventory(inv, pkiDir), null, 2)}\n`;
}
