/** The shell functions `tskv completion bash|zsh` prints: each asks `tskv __complete CWORD WORDS...`. */

export const BASH = `# tskv completion for bash: eval "$(tskv completion bash)" (e.g. in ~/.bashrc)
_tskv() {
  local IFS=$'\\n'
  COMPREPLY=($(tskv __complete "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null))
  if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == */ ]]; then compopt -o nospace; fi
}
complete -F _tskv tskv
`;

export const ZSH = `#compdef tskv
# tskv completion for zsh: eval "$(tskv completion zsh)" (e.g. in ~/.zshrc, after compinit)
_tskv() {
  local -a candidates
  candidates=("\${(@f)$(tskv __complete $((CURRENT - 1)) "\${words[@]}" 2>/dev/null)}")
  compadd -- "\${candidates[@]:#*/}"
  compadd -S '' -- "\${(M)candidates[@]:#*/}"
}
compdef _tskv tskv
`;
