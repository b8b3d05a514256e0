/**
 * npm run build (and npm prepare): the controller as one ES module, dist/controller/tskv.mjs, and a
 * launcher that turns on V8's compile cache before loading it. Loading ~400 files (the TypeScript
 * sources, undici, zod, ssh2, listr2, ...) one by one was ~80 ms of every command; the bundle
 * starts in about half that. bin/tskv runs it only while no source is newer than it, and the
 * TypeScript sources otherwise, so a stale bundle is never run.
 *
 * dist/controller/inputs lists what the bundle was made of (each source file, its folder, and
 * package-lock.json): bin/tskv compares their times with the bundle's.
 *
 * The bundle sits two folders below the project root, like the modules that find files relative
 * to themselves (controller/agent-client/manifest.ts, controller/inventory/normalise.ts,
 * lab/names.ts for the lab command). ssh2 stays outside: it loads its native crypto binding
 * from its own folder.
 */
import { mkdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// Tests build elsewhere (TSKV_CONTROLLER_OUT) to leave the project's bundle alone.
const OUT = process.env['TSKV_CONTROLLER_OUT'] ?? join(ROOT, 'dist/controller');

const LAUNCHER = `// Written by scripts/build-controller.ts. V8's code cache for the bundle, then the bundle.
import { enableCompileCache } from 'node:module';
enableCompileCache();
await import('./tskv.mjs');
`;

mkdirSync(OUT, { recursive: true });
// The bundle is dated when the sources were read, not when it was written: a file saved during
// the build is then newer than the bundle, and bin/tskv runs the sources.
const started = new Date();
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [join(ROOT, 'controller/cli.ts')],
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  external: ['ssh2'],
  // CommonJS packages inside an ES module bundle still call require() for Node's builtins.
  banner: {
    js: "import { createRequire as __tskvRequire } from 'node:module'; const require = __tskvRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
  metafile: true,
  outfile: join(OUT, 'tskv.mjs'),
});
// Relative to ROOT (absWorkingDir); packages are covered by package-lock.json.
const sources = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
const inputs = [
  ...new Set([
    ...sources,
    ...sources.map(dirname),
    'package-lock.json',
    'tsconfig.json',
    'scripts/build-controller.ts',
  ]),
].sort();
// The launcher first, the bundle last: bin/tskv trusts the bundle once it is newer than the sources.
writeFileSync(join(OUT, 'launch.mjs'), LAUNCHER);
writeFileSync(join(OUT, 'inputs'), `${inputs.join('\n')}\n`);
const isBundle = (path: string) => Number(path.endsWith('.mjs'));
for (const file of [...result.outputFiles].sort((a, b) => isBundle(a.path) - isBundle(b.path))) {
  writeFileSync(`${file.path}.tmp`, file.contents);
  if (isBundle(file.path)) utimesSync(`${file.path}.tmp`, started, started);
  renameSync(`${file.path}.tmp`, file.path);
}
const size = result.outputFiles.find((f) => f.path.endsWith('.mjs'))?.contents.length ?? 0;
console.log(
  `controller: dist/controller/tskv.mjs (${(size / 1e6).toFixed(1)} MB, ${sources.length} source files) in ${Date.now() - started.getTime()} ms`,
);
