// Package completion completes the commands and flags of a urfave/cli
// application in bash and zsh: the scripts a shell sources, and the
// candidates the application prints when a script asks. It writes to the
// writer it is given and does nothing else.
package completion

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Flag, as the last argument, asks the application for the candidates of
// shell completion instead of running a command: urfave/cli's protocol
// (its EnableBashCompletion and autocomplete scripts), answered by
// [Complete] so that the word being completed is always known.
const Flag = "--generate-bash-completion"

// Scripts are the shell completion scripts of ssmrandom, by shell, that
// `ssmrandom completion SHELL` prints. Both run ssmrandom with the words typed so far, the word
// being completed last (maybe empty), and Flag, and offer what
// it prints one per line; when it prints nothing, file names. Neither
// evaluates the command line, and neither asks after a "--".
var Scripts = map[string]string{
	"bash": `# bash completion for ssmrandom (ssmrandom completion bash). Installed as
# /usr/share/bash-completion/completions/ssmrandom, or: source <(ssmrandom completion bash)
_ssmrandom() {
	local cur=${COMP_WORDS[COMP_CWORD]} w
	local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	for w in "${words[@]:1}"; do
		[[ $w == -- ]] && return 0
	done
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$("${words[0]}" "${words[@]:1}" "$cur" ` + Flag + ` 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _ssmrandom ssmrandom
`,
	"zsh": `#compdef ssmrandom
# zsh completion for ssmrandom (ssmrandom completion zsh). Installed as
# /usr/share/zsh/vendor-completions/_ssmrandom, or: source <(ssmrandom completion zsh)
_ssmrandom() {
	local -a opts
	if (( ${words[(I)--]} > 0 && ${words[(I)--]} < CURRENT )); then
		_files
		return
	fi
	opts=("${(@f)$("${words[1]}" "${(@)words[2,CURRENT]}" ` + Flag + ` 2>/dev/null)}")
	if [[ -n ${opts[1]} ]]; then
		compadd -a opts
	else
		_files
	fi
}
if [[ ${funcstack[1]} == _ssmrandom ]]; then
	_ssmrandom "$@"
else
	compdef _ssmrandom ssmrandom
fi
`,
}

// Complete prints the completion candidates for words, the command line
// after "ssmrandom" up to and including the word being completed: the
// commands, or the flags of the command once the word starts with -.
// It prints nothing where a value or an argument goes (the scripts then
// offer file names).
func Complete(app *cli.App, words []string, w io.Writer) {
	app.Setup()
	if len(words) == 0 || slices.Contains(words[:len(words)-1], "--") {
		return
	}
	cur, words := words[len(words)-1], words[:len(words)-1]
	var cmd *cli.Command
	for _, word := range words {
		if strings.HasPrefix(word, "-") {
			continue // the global flags take no value
		}
		if cmd = app.Command(word); cmd == nil {
			return
		}
		break
	}
	switch {
	case cmd == nil && strings.HasPrefix(cur, "-"):
		printFlagNames(w, app.VisibleFlags())
	case cmd == nil || cmd.Name == "help":
		for _, c := range app.VisibleCommands() {
			fmt.Fprintln(w, c.Name)
		}
	case strings.HasPrefix(cur, "-"):
		printFlagNames(w, cmd.VisibleFlags())
	}
}

// printFlagNames prints each name of each flag, with its dashes.
func printFlagNames(w io.Writer, flags []cli.Flag) {
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) == 1 {
				fmt.Fprintln(w, "-"+n)
			} else {
				fmt.Fprintln(w, "--"+n)
			}
		}
	}
}
