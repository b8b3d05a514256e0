import { candidates } from '../completion/candidates.ts';
import { fileSystemSources } from '../completion/sources.ts';
import { COMMANDS } from './names.ts';
import type { Command } from './types.ts';

/** `tskv __complete CWORD WORDS...` (hidden): the candidates for WORDS[CWORD], one per line. */
const complete: Command = {
  summary: 'shell completion helper',
  usage: 'usage: tskv __complete CWORD WORDS... (used by the scripts of tskv completion)',
  async run(argv) {
    const [cwordText, ...words] = argv;
    const cword = Number(cwordText);
    if (!Number.isInteger(cword) || cword < 0) return 0;
    const commands = [];
    for (const name of COMMANDS) {
      const mod = (await import(`./${name}.ts`)) as { default: Command };
      commands.push({ name, usage: mod.default.usage });
    }
    const found = candidates(words, cword, commands, fileSystemSources);
    if (found.length > 0) process.stdout.write(`${found.join('\n')}\n`);
    return 0;
  },
};

export default complete;
