import { BASH, ZSH } from '../completion/scripts.ts';
import { InputError } from '../errors.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv completion bash|zsh

Prints the shell completion for tskv: commands, flags, inventory files and the inventory's host names.
  bash: eval "$(tskv completion bash)"   (in ~/.bashrc)
  zsh:  eval "$(tskv completion zsh)"    (in ~/.zshrc, after compinit)`;

const completion: Command = {
  summary: 'print the bash or zsh completion script',
  usage,
  async run(argv) {
    const { positionals } = parseCommandArgs(argv, {}, usage);
    const [shell] = requirePositionals(positionals, ['bash|zsh'], usage);
    if (positionals.length > 1) throw new InputError(`unexpected argument '${positionals[1]}'\n${usage}`);
    if (shell === 'bash') process.stdout.write(BASH);
    else if (shell === 'zsh') process.stdout.write(ZSH);
    else throw new InputError(`no completion for '${shell}' (tskv has bash and zsh)\n${usage}`);
    return 0;
  },
};

export default completion;
