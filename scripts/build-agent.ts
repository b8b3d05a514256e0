/**
 * npm run build: the agent-server as one executable (Node single executable application).
 *
 *   agent/main.ts --esbuild--> one CommonJS file --node --experimental-sea-config--> blob
 *   node_modules/node/bin/node (the pinned Node 24, the same one that made the blob), stripped of
 *   debug symbols when `strip` exists --postject--> dist/agent/tskv-agent
 *   --> tskv-agent.zst (zstd level 9, long-distance matching: ~34 MB in ~2 s) and tskv-agent.gz
 *   (gzip -6: ~41 MB; for hosts without zstd), and manifest.json.
 *
 * buildId = sha256(bundle + Node version + recipe): unchanged sources give the same id, the build
 * is skipped, and the controller pushes nothing new. TSKV_AGENT_ZSTD_LEVEL=19 trades ~40 s of
 * build time for ~4 MB less on the wire.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { build } from 'esbuild';
import { AGENT_API_VERSION, type AgentManifest, agentManifestSchema } from '../agent/api/index.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const NODE = join(ROOT, 'node_modules/node/bin/node');
const POSTJECT = join(ROOT, 'node_modules/postject/dist/cli.js');
const OUT = join(ROOT, 'dist/agent');
const WORK = join(ROOT, '.cache/agent-build');
const EXE = 'tskv-agent';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Bump when the steps below change what ends up in the executable. */
const RECIPE = 'sea-v1';

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

/** The manifest of the current dist/agent, if it is complete and matches `buildId`. */
function upToDate(buildId: string): AgentManifest | null {
  try {
    const m = agentManifestSchema.parse(JSON.parse(readFileSync(join(OUT, 'manifest.json'), 'utf8')));
    const sizeOk = (file: string, size: number) => statSync(join(OUT, file)).size === size;
    if (m.buildId !== buildId || m.apiVersion !== AGENT_API_VERSION) return null;
    if (!sizeOk(m.file, m.size) || !sizeOk(m.compressed.file, m.compressed.size)) return null;
    return sizeOk(m.fallback.file, m.fallback.size) ? m : null;
  } catch {
    return null;
  }
}

function writeAtomic(path: string, data: Buffer | string): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function makeExecutable(js: string, buildId: string, strip: boolean): Buffer {
  mkdirSync(WORK, { recursive: true });
  writeFileSync(join(WORK, 'agent.cjs'), js);
  writeFileSync(join(WORK, 'build-id.txt'), buildId);
  const seaConfig = {
    main: join(WORK, 'agent.cjs'),
    output: join(WORK, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: true,
    assets: { 'build-id': join(WORK, 'build-id.txt') },
  };
  writeFileSync(join(WORK, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
  execFileSync(NODE, ['--experimental-sea-config', join(WORK, 'sea-config.json')], { stdio: 'pipe' });
  const exe = join(WORK, EXE);
  copyFileSync(NODE, exe);
  chmodSync(exe, 0o755);
  if (strip) execFileSync('strip', [exe]);
  // postject warns about ELF notes it cannot name; those lines are noise.
  execFileSync(NODE, [POSTJECT, exe, 'NODE_SEA_BLOB', seaConfig.output, '--sentinel-fuse', SEA_FUSE], {
    stdio: 'pipe',
  });
  const printed = execFileSync(exe, ['version'], { encoding: 'utf8' }).trim();
  if (printed !== buildId) throw new Error(`built agent prints build id "${printed}", expected "${buildId}"`);
  return readFileSync(exe);
}

function compress(raw: Buffer): { zst: Buffer; gz: Buffer } {
  const level = Number(process.env['TSKV_AGENT_ZSTD_LEVEL'] ?? 9);
  const zst = zstdCompressSync(raw, {
    params: {
      [constants.ZSTD_c_compressionLevel]: level,
      [constants.ZSTD_c_enableLongDistanceMatching]: 1,
      // 128 MiB: the largest window `zstd -d` accepts without --long, covering the whole binary.
      [constants.ZSTD_c_windowLog]: 27,
      [constants.ZSTD_c_checksumFlag]: 1,
    },
  });
  return { zst, gz: gzipSync(raw, { level: 6 }) };
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
  const js = await bundle();
  const buildId = sha256(`${js}\0${nodeVersion}\0${RECIPE}\0strip=${strip}`).slice(0, 16);
  const current = upToDate(buildId);
  if (current) {
    console.log(`agent: ${buildId} up to date (${mb(current.size)}, zstd ${mb(current.compressed.size)})`);
    return;
  }
  const raw = makeExecutable(js, buildId, strip);
  const built = performance.now();
  const { zst, gz } = compress(raw);
  mkdirSync(OUT, { recursive: true });
  writeAtomic(join(OUT, EXE), raw);
  chmodSync(join(OUT, EXE), 0o755);
  writeAtomic(join(OUT, `${EXE}.zst`), zst);
  writeAtomic(join(OUT, `${EXE}.gz`), gz);
  const manifest: AgentManifest = {
    buildId,
    apiVersion: AGENT_API_VERSION,
    nodeVersion,
    file: EXE,
    sha256: sha256(raw),
    size: raw.length,
    compressed: { file: `${EXE}.zst`, encoding: 'zstd', sha256: sha256(zst), size: zst.length },
    fallback: { file: `${EXE}.gz`, encoding: 'gzip', sha256: sha256(gz), size: gz.length },
  };
  writeAtomic(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `agent: built ${buildId} (Node ${nodeVersion}${strip ? ', stripped' : ''}) in ${secs(performance.now() - started)}` +
      ` (executable ${secs(built - started)}): ${mb(raw.length)}, zstd ${mb(zst.length)}, gzip ${mb(gz.length)}`,
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
