/**
 * The completion scripts in the real shells: `tskv completion bash|zsh` is loaded into bash and
 * zsh (zsh from scripts/lab-deps.sh), the completion function runs on a command line, and what it
 * offers is tskv's own candidates, inventory hosts included.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const binDir = resolve(import.meta.dirname, '../../../../bin');
const dir = mkdtempSync(join(tmpdir(), 'tskv-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const env = { ...process.env, PATH: `${binDir}:${process.env['PATH']}`, HOME: dir };

async function shell(program: 'bash' | 'zsh', script: string): Promise<string[]> {
  const { stdout } = await run(program, ['-c', script], { cwd: dir, env });
  return stdout.split('\n').filter((l) => l !== '');
}

/** bash: the words as COMP_WORDS, the last one being completed; prints COMPREPLY. */
const bash = (words: string[]) =>
  shell(
    'bash',
    `eval "$(tskv completion bash)"
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_tskv; printf '%s\\n' "\${COMPREPLY[@]}"`,
  );

/** zsh: compadd stands in for the builtin (usable only inside a completion widget) and prints what it is given. */
const zsh = (words: string[]) =>
  shell(
    'zsh',
    `autoload -Uz compinit && compinit -u -d ${dir}/zcompdump
eval "$(tskv completion zsh)"
compadd() { while [[ $1 == -* && $1 != -- ]]; do [[ $1 == -S ]] && shift; shift; done; [[ $1 == -- ]] && shift; (( $# )) && print -l -- "$@"; return 0; }
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}
_tskv`,
  );

/** zsh comes from scripts/lab-deps.sh (npm test installs it); `npm run test:unit` alone may lack it. */
const missing = (program: string): boolean =>
  !(process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, program)));

describe('completion in the real shells', { timeout: 240_000 }, () => {
  before(() => {
    mkdirSync(join(dir, 'inv'));
    writeFileSync(
      join(dir, 'inv', 'prod.yaml'),
      'cluster: { token: t }\netcd: { version: 3.5.17 }\nhosts:\n  etcd-a: { address: 10.0.0.1 }\n  etcd-b: { address: 10.0.0.2 }\n',
    );
  });

  for (const [name, complete] of [
    ['bash', bash],
    ['zsh', zsh],
  ] as const) {
    test(`${name}: commands by prefix, inventory files and folders, the inventory's hosts`, {
      skip: missing(name) && `${name} is not installed (scripts/lab-deps.sh installs it)`,
    }, async () => {
      assert.deepEqual(await complete(['tskv', 'dep']), ['deploy']);
      assert.deepEqual(await complete(['tskv', 'status', '']), ['inv/']);
      assert.deepEqual(await complete(['tskv', 'status', 'inv/']), ['inv/prod.yaml']);
      assert.deepEqual(await complete(['tskv', 'ssh', 'inv/prod.yaml', '']), ['etcd-a', 'etcd-b']);
    });
  }
});
