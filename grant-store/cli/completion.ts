import type { Command, Option } from 'commander';

/**
 * Shell completion for bash, zsh and fish, generated from the command tree itself (every verb,
 * subcommand and option commander knows), so it cannot drift from the CLI. The three scripts
 * share one model: the "path" of subcommands typed so far (`request list`), the words that can
 * follow it, the options valid there (its own plus the global ones) and, for an option that
 * takes a value, the values it accepts (an enumerated list) or files.
 */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export interface CompletionOption {
  /** --gate, and -V for options with a short form. */
  flags: string[];
  takesValue: boolean;
  /** The values it accepts, when the CLI lists them; `files` when the value is a path. */
  values: string[] | 'files' | null;
  description: string;
}

export interface CompletionNode {
  /** Subcommand path from the root, '' for the root: 'request list'. */
  path: string;
  description: string;
  subcommands: { name: string; description: string }[];
  options: CompletionOption[];
}

/** "pending | needs_info | open": the accepted values the CLI's own help lists, if it lists them first. */
const LISTED_VALUES = /^([a-z0-9_.-]+(?:\s*\|\s*[a-z0-9_.-]+)+)(?:\s|$|[,;:(])/;
/** Value names that mean a path on disk: <file>, <dir>, <path>, <out>. */
const PATH_ARGUMENT = /<(file|dir|path|out|directory|key)>|\[(file|dir|path)\]/i;

function optionOf(option: Option): CompletionOption {
  const flags = [option.long, option.short].filter((f): f is string => typeof f === 'string');
  const takesValue = option.required || option.optional;
  let values: CompletionOption['values'] = null;
  if (option.argChoices && option.argChoices.length > 0) values = [...option.argChoices];
  else if (takesValue && PATH_ARGUMENT.test(option.flags)) values = 'files';
  else if (takesValue) {
    const listed = LISTED_VALUES.exec(option.description ?? '');
    if (listed) values = listed[1]!.split('|').map((v) => v.trim());
  }
  return { flags, takesValue, values, description: option.description ?? '' };
}

const visible = (cmd: Command) => !(cmd as unknown as { _hidden?: boolean })._hidden;

/** Every command of the tree, root first, each with what may follow it. */
export function completionModel(program: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const globals = program.options.map(optionOf);
  const walk = (cmd: Command, path: string) => {
    const own = path === '' ? [] : cmd.options.map(optionOf);
    const subs = cmd.commands.filter(visible);
    nodes.push({
      path,
      description: cmd.description(),
      subcommands: subs.flatMap((s) => [s.name(), ...s.aliases()].map((name) => ({ name, description: s.description() }))),
      options: [...own, ...globals, { flags: ['--help', '-h'], takesValue: false, values: null, description: 'show help' }],
    });
    for (const sub of subs) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(program, '');
  return nodes;
}

/** Single-quoted for sh, bash, zsh and fish alike (none of our words holds a quote, but be exact). */
function shq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
function fishq(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const valuedFlags = (node: CompletionNode) => node.options.filter((o) => o.takesValue).flatMap((o) => o.flags);

/** The lookup functions bash and zsh share (POSIX `case`, one line per path). */
function tableFunctions(nodes: CompletionNode[]): string {
  const fn = (name: string, body: (n: CompletionNode) => string) =>
    [`${name}() {`, '  case "$1" in', ...nodes.map((n) => `    ${shq(n.path)}) echo ${shq(body(n))} ;;`), '  esac', '}'].join('\n');
  const values: string[] = [];
  for (const n of nodes) {
    for (const o of n.options) {
      if (!o.takesValue || o.values === null) continue;
      for (const flag of o.flags) values.push(`    ${shq(`${n.path}|${flag}`)}) echo ${shq(o.values === 'files' ? '@files' : o.values.join(' '))} ;;`);
    }
  }
  return [
    fn('_breakglass_subs', (n) => n.subcommands.map((s) => s.name).join(' ')),
    fn('_breakglass_opts', (n) => n.options.flatMap((o) => o.flags).join(' ')),
    fn('_breakglass_valued', (n) => valuedFlags(n).join(' ')),
    ['_breakglass_values() {', '  case "$1|$2" in', ...values, '  esac', '}'].join('\n'),
    // The subcommand path of the words before the cursor: options and their values are skipped.
    `_breakglass_path() {
  local p="" skip=0 w
  for w in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      -*) case " $(_breakglass_valued "$p") " in *" $w "*) skip=1 ;; esac ;;
      *) case " $(_breakglass_subs "$p") " in *" $w "*) p="\${p:+$p }$w" ;; esac ;;
    esac
  done
  echo "$p"
}`,
  ].join('\n\n');
}

function bashScript(nodes: CompletionNode[]): string {
  return `# bash completion for breakglass. Load it now:  source <(breakglass completion bash)
# or for every shell:  breakglass completion bash > ~/.local/share/bash-completion/completions/breakglass
${tableFunctions(nodes)}

_breakglass() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" p values
  [ "$COMP_CWORD" -gt 1 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  p="$(_breakglass_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  if [ -n "$prev" ] && case " $(_breakglass_valued "$p") " in *" $prev "*) true ;; *) false ;; esac; then
    values="$(_breakglass_values "$p" "$prev")"
    if [ "$values" = "@files" ]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=($(compgen -W "$values" -- "$cur")); fi
    return 0
  fi
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$(_breakglass_opts "$p")" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(_breakglass_subs "$p")" -- "$cur")) ;;
  esac
  return 0
}
complete -o default -F _breakglass breakglass
`;
}

function zshScript(nodes: CompletionNode[]): string {
  // Subcommand descriptions for _describe ("name:description"), per path.
  const described = [
    '_breakglass_described() {',
    '  case "$1" in',
    ...nodes.map((n) => `    ${shq(n.path)}) reply=(${n.subcommands.map((s) => shq(`${s.name}:${s.description.replace(/:/g, '\\:')}`)).join(' ')}) ;;`),
    '  esac',
    '}',
  ].join('\n');
  return `#compdef breakglass
# zsh completion for breakglass. Load it now:  source <(breakglass completion zsh)
# or for every shell: breakglass completion zsh > "\${fpath[1]}/_breakglass"  (then restart zsh)
${tableFunctions(nodes)}

${described}

_breakglass() {
  local cur="\${words[CURRENT]}" prev="" p values
  local -a reply
  (( CURRENT > 2 )) && prev="\${words[CURRENT-1]}"
  p="$(_breakglass_path "\${(@)words[2,CURRENT-1]}")"
  if [[ -n "$prev" && " $(_breakglass_valued "$p") " == *" $prev "* ]]; then
    values="$(_breakglass_values "$p" "$prev")"
    if [[ "$values" == "@files" ]]; then _files; else compadd -- \${=values}; fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    compadd -- \${=$(_breakglass_opts "$p")}
  else
    _breakglass_described "$p"
    (( \${#reply} )) && _describe -t commands 'breakglass command' reply
  fi
}
if (( $+functions[compdef] )); then compdef _breakglass breakglass; fi
`;
}

function fishScript(nodes: CompletionNode[]): string {
  const lines = [
    '# fish completion for breakglass. Load it now:  breakglass completion fish | source',
    '# or for every shell:  breakglass completion fish > ~/.config/fish/completions/breakglass.fish',
    'function __breakglass_subs',
    '    switch "$argv[1]"',
    ...nodes.flatMap((n) => [`        case ${fishq(n.path)}`, `            printf '%s\\n' ${n.subcommands.map((s) => fishq(s.name)).join(' ')}`]),
    '    end',
    'end',
    'function __breakglass_valued',
    '    switch "$argv[1]"',
    ...nodes.flatMap((n) => [`        case ${fishq(n.path)}`, `            printf '%s\\n' ${valuedFlags(n).map(fishq).join(' ')}`]),
    '    end',
    'end',
    '# The subcommand path typed so far (options and their values skipped).',
    'function __breakglass_path',
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    set -l p ""',
    '    set -l skip 0',
    '    for w in $words',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $w',
    "            case '--*=*'",
    "            case '-*'",
    '                if contains -- $w (__breakglass_valued "$p")',
    '                    set skip 1',
    '                end',
    "            case '*'",
    '                if contains -- $w (__breakglass_subs "$p")',
    '                    set p (string trim -- "$p $w")',
    '                end',
    '        end',
    '    end',
    '    echo $p',
    'end',
    'function __breakglass_at',
    '    set -l p (__breakglass_path)',
    '    test "$p" = "$argv[1]"',
    'end',
    'complete -c breakglass -f',
  ];
  for (const n of nodes) {
    const at = fishq(`__breakglass_at ${shq(n.path)}`);
    for (const s of n.subcommands) lines.push(`complete -c breakglass -n ${at} -a ${fishq(s.name)} -d ${fishq(s.description)}`);
    for (const o of n.options) {
      const parts = ['complete -c breakglass', `-n ${at}`];
      for (const flag of o.flags) parts.push(flag.startsWith('--') ? `-l ${fishq(flag.slice(2))}` : `-s ${fishq(flag.slice(1))}`);
      if (o.takesValue) parts.push(o.values === 'files' ? '-r -F' : o.values ? `-r -x -a ${fishq(o.values.join(' '))}` : '-r -x');
      parts.push(`-d ${fishq(o.description)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`, generated from `program` (which must have every verb registered). */
export function completionScript(shell: CompletionShell, program: Command): string {
  const nodes = completionModel(program);
  if (shell === 'bash') return bashScript(nodes);
  if (shell === 'zsh') return zshScript(nodes);
  return fishScript(nodes);
}
