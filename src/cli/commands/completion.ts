/**
 * @module `wafgen completion bash|zsh|fish|powershell` prints a shell completion script; the script
 * asks `wafgen complete -- <words>` for candidates (commands, options, option choices) at each TAB.
 * Both come from @bomb.sh/tab's commander adapter run over a fresh copy of the program, loaded only
 * by these two commands.
 */
import type { Command } from 'commander';

import type { Io } from '../io.js';

const SHELLS = ['bash', 'zsh', 'fish', 'powershell'];

/**
 * The bash script reads the words with `_get_comp_words_by_ref`, from the bash-completion package;
 * where that package is not loaded (a minimal image, `bash --norc`), this stand-in reads what bash
 * itself gives (COMP_WORDS, COMP_CWORD), so completion still works.
 */
const BASH_PRELUDE = `# Without the bash-completion package: the words bash itself gives.
if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
    _get_comp_words_by_ref() {
        cur="\${COMP_WORDS[COMP_CWORD]}"
        prev="\${COMP_WORDS[COMP_CWORD-1]}"
        words=("\${COMP_WORDS[@]:0:COMP_CWORD+1}")
        cword=$COMP_CWORD
    }
fi
`;

export function registerCompletion(program: Command, io: Io, fresh: () => Command): void {
  const run = async (args: string[]): Promise<void> => {
    const { default: tab } = await import('@bomb.sh/tab/commander');
    const copy = fresh();
    tab(copy, { completionCommandName: 'completion' });
    await copy.parseAsync(args, { from: 'user' });
  };
  program
    .command('completion')
    .description('print a shell completion script: source <(wafgen completion bash)')
    .addArgument(program.createArgument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText(
      'after',
      `
Install:
  bash: echo 'source <(wafgen completion bash)' >> ~/.bashrc
  zsh:  echo 'source <(wafgen completion zsh)' >> ~/.zshrc
  fish: wafgen completion fish > ~/.config/fish/completions/wafgen.fish
The script runs \`wafgen complete -- <words>\` at each TAB: wafgen must be on PATH.`,
    )
    .action((shell: string) => {
      if (shell === 'bash') io.out(BASH_PRELUDE);
      return run(['completion', shell]);
    });
  program
    .command('complete', { hidden: true })
    .description('candidates for the words given (called by the completion script)')
    .argument('[words...]')
    .allowUnknownOption()
    .action((words: string[]) => run(['complete', '--', ...words]));
}
