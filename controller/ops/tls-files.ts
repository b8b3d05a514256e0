/**
 * The TLS material a member's host holds with TLS on: which file of the controller (the PKI folder
 * with tls.mode auto, the operator's own with files) goes where on the host, and whether the host
 * has it as it should (content, 0640 root:etcd). Pure; the play reads both sides. Contents never
 * reach a plan: a step names the files, the runner reads them on the controller when it writes them.
 */
import { ETCD_GROUP, ETCD_PKI_FILES, ETCD_PKI_MODE } from '../../agent/api/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { memberTlsSources } from '../pki/sources.ts';
import type { FileAccess } from './config.ts';

export interface TlsFile {
  /** Where it goes on the host. */
  path: string;
  /** Where it comes from on the controller (an absolute path). */
  source: string;
  kind: 'key' | 'cert';
}

export const TLS_FILE_OWNER = `root:${ETCD_GROUP}`;

/** The CA certificate, and the member's server and peer pairs. */
export function memberTlsFiles(inv: Inventory, member: string): TlsFile[] {
  const { ca, server, peer } = memberTlsSources(inv, member);
  return [
    { path: ETCD_PKI_FILES.ca, source: ca, kind: 'cert' },
    { path: ETCD_PKI_FILES.serverCert, source: server.cert, kind: 'cert' },
    { path: ETCD_PKI_FILES.serverKey, source: server.key, kind: 'key' },
    { path: ETCD_PKI_FILES.peerCert, source: peer.cert, kind: 'cert' },
    { path: ETCD_PKI_FILES.peerKey, source: peer.key, kind: 'key' },
  ];
}

/** A file as the host has it. */
export interface HostFile extends FileAccess {
  content: string;
}

/**
 * The host's TLS files against the PKI's (undefined: the PKI has yet to issue it): what to write
 * (file names), or undefined when all are right.
 */
export function planTlsFiles(
  want: ReadonlyMap<string, string | undefined>,
  have: ReadonlyMap<string, HostFile | undefined>,
): { title: string; paths: string[] } | undefined {
  const paths = [...want.keys()].filter((path) => {
    const file = have.get(path);
    const content = want.get(path);
    return (
      file === undefined ||
      content === undefined ||
      file.content !== content ||
      file.mode !== ETCD_PKI_MODE ||
      file.owner !== TLS_FILE_OWNER
    );
  });
  if (paths.length === 0) return undefined;
  const names = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
  const fresh = paths.every((p) => have.get(p) === undefined);
  return {
    title: `${fresh ? 'place' : 'update'} TLS files ${names.join(', ')} (0640 ${TLS_FILE_OWNER})`,
    paths,
  };
}
