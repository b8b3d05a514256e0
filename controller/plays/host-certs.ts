/** The certificates a member's host holds for its etcd (tls.mode auto), as `status` and `preflight` read them. */
import { ETCD_PKI_FILES, routes } from '../../agent/api/index.ts';
import type { HostChannel } from './session.ts';

export type HostCertRole = 'server' | 'peer' | 'ca';

export interface HostCertFile {
  role: HostCertRole;
  path: string;
  /** The file's text; undefined when it is missing. */
  pem: string | undefined;
}

const HOST_CERT_FILES: [HostCertRole, string][] = [
  ['server', ETCD_PKI_FILES.serverCert],
  ['peer', ETCD_PKI_FILES.peerCert],
  ['ca', ETCD_PKI_FILES.ca],
];

/** The server and peer certificates etcd serves on the host, and the CA it trusts (never a key). */
export function readHostCerts(ch: HostChannel): Promise<HostCertFile[]> {
  return Promise.all(
    HOST_CERT_FILES.map(async ([role, path]) => {
      const r = await ch.agent.call(routes.fileRead, { path }, { step: `read ${path}` });
      return { role, path, pem: r.exists ? r.content : undefined };
    }),
  );
}
