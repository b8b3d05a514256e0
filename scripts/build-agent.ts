/**
 * npm run build: the agent as two files, each content-addressed, so a new tskv build costs the
 * hosts only its code:
 *
 *   - the runtime: node_modules/node/bin/node (the pinned Node 24), stripped of debug symbols when
 *     `strip` exists --> dist/agent/node-<first 16 hex of its sha256>; rebuilt only when Node (or
 *     strip) changes, pushed once per host per Node version;
 *   - the code: agent/main.ts --esbuild--> one CommonJS file, its build id in its first line
 *     (agent/build-id.ts reads it) --> dist/agent/tskv-agent-<buildId> (a few MB, ~1 MB packed).
 *
 * Each also as .zst (zstd level 9, long-distance matching, with zstd's checksum) and .gz (gzip -6:
 * for hosts without zstd), and manifest.json naming them all (agent/api/manifest.ts).
 *
 * buildId = sha256(bundle + runtime sha256 + recipe): unchanged sources give the same id, the build
 * is skipped, and the controller pushes nothing new. TSKV_AGENT_ZSTD_LEVEL=19 trades build time
 * for bytes on the wire (the runtime's: ~4 MB less, ~40 s more, once per Node version).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { build } from 'esbuild';
import {
  AGENT_API_VERSION,
  type AgentFile,
  type AgentManifest,
  agentManifestSchema,
} from '../agent/api/index.ts';
import { BUILD_ID_GLOBAL } from '../agent/build-id.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/node/bin/node');
const OUT = join(ROOT, 'dist/agent');
const WORK = join(ROOT, '.cache/agent-build');
/** Bump when the steps below change what ends up in the code file. */
const RECIPE = 'split-v1';
const COMMONJS_PACKAGE_JSON = '{"type":"commonjs"}\n';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function hasStrip(): boolean {
  try {
    execFileSync('strip', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, 'agent/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

/** The manifest of the current dist/agent, if every file it names is there with its size. */
function currentManifest(): AgentManifest | null {
  try {
    const m = agentManifestSchema.parse(JSON.parse(readFileSync(join(OUT, 'manifest.json'), 'utf8')));
    const sizeOk = (file: string, size: number) => statSync(join(OUT, file)).size === size;
    const complete = (f: AgentFile) =>
      sizeOk(f.file, f.size) &&
      sizeOk(f.compressed.file, f.compressed.size) &&
      sizeOk(f.fallback.file, f.fallback.size);
    return complete(m.runtime) && complete(m.code) ? m : null;
  } catch {
    return null;
  }
}

function writeAtomic(path: string, data: Buffer | string): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function compress(raw: Buffer): { zst: Buffer; gz: Buffer } {
  const level = Number(process.env['TSKV_AGENT_ZSTD_LEVEL'] ?? 9);
  const zst = zstdCompressSync(raw, {
    params: {
      [constants.ZSTD_c_compressionLevel]: level,
      [constants.ZSTD_c_enableLongDistanceMatching]: 1,
      // 128 MiB: the largest window `zstd -d` accepts without --long, covering the whole runtime.
      [constants.ZSTD_c_windowLog]: 27,
      [constants.ZSTD_c_checksumFlag]: 1,
    },
  });
  return { zst, gz: gzipSync(raw, { level: 6 }) };
}

/** Write `raw` as dist/agent/<file> (with `mode`), .zst and .gz; what the manifest says of them. */
function writeAgentFile(file: string, raw: Buffer, mode: number): AgentFile {
  const { zst, gz } = compress(raw);
  writeAtomic(join(OUT, file), raw);
  chmodSync(join(OUT, file), mode);
  writeAtomic(join(OUT, `${file}.zst`), zst);
  writeAtomic(join(OUT, `${file}.gz`), gz);
  return {
    file,
    sha256: sha256(raw),
    size: raw.length,
    compressed: { file: `${file}.zst`, encoding: 'zstd', sha256: sha256(zst), size: zst.length },
    fallback: { file: `${file}.gz`, encoding: 'gzip', sha256: sha256(gz), size: gz.length },
  };
}

/** The runtime of the last build when it is this Node, stripped alike; else a new one. */
function runtime(
  previous: AgentManifest | null,
  nodeVersion: string,
  strip: boolean,
): AgentManifest['runtime'] {
  if (previous && previous.nodeVersion === nodeVersion && previous.runtime.stripped === strip)
    return previous.runtime;
  mkdirSync(WORK, { recursive: true });
  const exe = join(WORK, 'node');
  copyFileSync(NODE, exe);
  chmodSync(exe, 0o755);
  if (strip) execFileSync('strip', [exe]);
  const printed = execFileSync(exe, ['--version'], { encoding: 'utf8' }).trim();
  if (printed !== nodeVersion)
    throw new Error(`the stripped runtime prints "${printed}", expected "${nodeVersion}"`);
  const raw = readFileSync(exe);
  return { ...writeAgentFile(`node-${sha256(raw).slice(0, 16)}`, raw, 0o755), stripped: strip };
}

/** Files of earlier builds in dist/agent: only the manifest's stay. */
function removeOthers(manifest: AgentManifest): void {
  const keep = new Set(['manifest.json', 'package.json']);
  for (const f of [manifest.runtime, manifest.code]) {
    for (const name of [f.file, f.compressed.file, f.fallback.file]) keep.add(name);
  }
  for (const name of readdirSync(OUT)) {
    if (!keep.has(name) && /^(node|tskv-agent)/.test(name)) rmSync(join(OUT, name), { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One build at a time (parallel test files may all ask for it): an exclusive lock file holding our pid. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(ROOT, '.cache/agent-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8').trim() || 0);
      if (!holder || !pidAlive(holder)) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`another agent build (pid ${holder}) holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const nodeVersion = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
  const strip = hasStrip();
  const previous = currentManifest();
  const js = await bundle();
  mkdirSync(OUT, { recursive: true });
  const node = runtime(previous, nodeVersion, strip);
  const buildId = sha256(`${js}\0${node.sha256}\0${RECIPE}`).slice(0, 16);
  if (previous && previous.buildId === buildId && previous.apiVersion === AGENT_API_VERSION) {
    console.log(
      `agent: ${buildId} up to date (code ${mb(previous.code.compressed.size)} zstd, runtime ${previous.runtime.file})`,
    );
    return;
  }
  // The code file has no extension: beside a package.json saying so, Node loads it as CommonJS
  // whatever a package.json further up says (this checkout's says "module"). The host's install
  // dir gets one too (start-script.ts).
  writeAtomic(join(OUT, 'package.json'), COMMONJS_PACKAGE_JSON);
  // The build id on the code's first line: what the agent reports, and the controller checks.
  const code = Buffer.from(`globalThis.${BUILD_ID_GLOBAL} = ${JSON.stringify(buildId)};\n${js}`);
  const manifest: AgentManifest = {
    buildId,
    apiVersion: AGENT_API_VERSION,
    nodeVersion,
    runtime: node,
    code: writeAgentFile(`tskv-agent-${buildId}`, code, 0o644),
  };
  const printed = execFileSync(join(OUT, node.file), [join(OUT, manifest.code.file), 'version'], {
    encoding: 'utf8',
  }).trim();
  if (printed !== buildId) throw new Error(`built agent prints build id "${printed}", expected "${buildId}"`);
  writeAtomic(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  removeOthers(manifest);
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const reused = node === previous?.runtime ? 'reused' : 'built';
  console.log(
    `agent: built ${buildId} in ${secs(performance.now() - started)}: code ${mb(code.length)} (zstd ${mb(manifest.code.compressed.size)}, gzip ${mb(manifest.code.fallback.size)});` +
      ` runtime ${node.file} ${reused} (Node ${nodeVersion}${strip ? ', stripped' : ''}: ${mb(node.size)}, zstd ${mb(node.compressed.size)}, gzip ${mb(node.fallback.size)})`,
  );
}

if (!existsSync(NODE)) {
  console.error('agent build: node_modules/node/bin/node is missing: run npm ci');
  process.exit(1);
}
withLock(main).catch((err: unknown) => {
  console.error(`agent build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
