import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EnsureEtcdAccount } from '../../../../agent/handlers/etcd-account.ts';
import { etcdBinary, type HostLayout, layoutUnder } from '../../../../agent/policy/layout.ts';

/**
 * A stand-in for etcd: prints its variables to the log, then behaves as FAKE_MODE says
 * ("run": sleep until killed, "exit0": exit 0, "exit3": exit 3). `etcd --version` answers like
 * etcd 3.4.23 (or $FAKE_VERSION).
 */
export const FAKE_ETCD = `#!/bin/sh
if [ "$1" = "--version" ]; then
  echo "etcd Version: \${FAKE_VERSION:-3.4.23}"
  echo "Git SHA: fake"
  exit 0
fi
echo "fake etcd pid $$ ETCD_NAME=$ETCD_NAME QUOTED=$QUOTED HOME=\${HOME-unset} PATH=$PATH"
case "$FAKE_MODE" in
  exit0) exit 0 ;;
  exit3) exit 3 ;;
esac
exec sleep 1000
`;

export interface FakeHost {
  dir: string;
  /** The host's layout under `dir`. */
  layout: HostLayout;
  binary: string;
  envFile: string;
  logFile: string;
  runDir: string;
  /** The data dir every env file written names (unless `vars` name another). */
  dataDir: string;
  writeEnv(vars: Record<string, string>): void;
  remove(): void;
}

/**
 * A temporary "host" (the host's layout under a folder in /tmp): a fake etcd program where tskv
 * links etcd, the env file, the log file and the run directory.
 */
export function fakeHost(): FakeHost {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-fake-host-'));
  const layout = layoutUnder(dir);
  const binary = etcdBinary(layout);
  mkdirSync(dirname(binary), { recursive: true });
  mkdirSync(layout.configDir, { recursive: true });
  writeFakeEtcd(binary);
  const host: FakeHost = {
    dir,
    layout,
    binary,
    envFile: layout.envFile,
    logFile: layout.logFile,
    runDir: layout.runDir,
    dataDir: join(dir, 'var/lib/etcd/m1.etcd'),
    writeEnv(vars) {
      const text = Object.entries({ ETCD_DATA_DIR: host.dataDir, ...vars })
        .map(([k, v]) => `${k}="${v.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`)
        .join('\n');
      writeFileSync(host.envFile, `# fake env\n${text}\n`);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return host;
}

/**
 * Who etcd runs as in these tests, without an etcd account on this machine: as root, `nobody`
 * (65534:65534, so that dropping privileges and handing folders over really happen); else the
 * test's own user. Says once that it "created" the account.
 */
export function fakeAccount(): EnsureEtcdAccount {
  const asRoot = process.getuid?.() === 0;
  const account = asRoot
    ? { user: 'nobody', uid: 65534, gid: 65534 }
    : { user: String(process.getuid?.()), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  let made = false;
  return async (create) => {
    const actions = made ? [] : ['create system user etcd (fake)'];
    if (create) made = true;
    return { account, actions };
  };
}

/** Write the fake etcd program to `path` (executable). */
export function writeFakeEtcd(path: string): void {
  writeFileSync(path, FAKE_ETCD);
  chmodSync(path, 0o755);
}
