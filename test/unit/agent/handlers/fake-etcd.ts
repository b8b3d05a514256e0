import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
    writeEnv(vars) {
      const text = Object.entries(vars)
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

/** Write the fake etcd program to `path` (executable). */
export function writeFakeEtcd(path: string): void {
  writeFileSync(path, FAKE_ETCD);
  chmodSync(path, 0o755);
}
