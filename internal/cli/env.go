package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// envOptions are the options of pixie env.
type envOptions struct {
	tokenOptions
	shell string
}

// envShells quote a value for each shell pixie env writes for, and write the
// assignment that exports it.
var envShells = map[string]func(name, value string) string{
	// POSIX sh: nothing is special between single quotes but the quote itself,
	// which ends the quoted string, is escaped, and starts another.
	"sh": func(name, value string) string {
		return "export " + name + "='" + strings.ReplaceAll(value, "'", `'\''`) + "'"
	},
	// fish: between single quotes, only \' and \\ are escapes.
	"fish": func(name, value string) string {
		return "set -gx " + name + " '" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
	},
	// PowerShell: a single quote (ASCII or typographic) is doubled.
	"powershell": func(name, value string) string {
		return "$env:" + name + " = '" + strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b").Replace(value) + "'"
	},
}

func newEnvCmd(a *app) *cobra.Command {
	opts := &envOptions{tokenOptions: tokenOptions{app: a}}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print shell commands that export a valid access token",
		Long: `Print the commands that set PIXIE_ACCESS_TOKEN to a valid access token of the
profile (refreshed when needed) and PIXIE_ACCESS_TOKEN_EXPIRES_AT to its expiry
(RFC 3339 in UTC, empty when it has none), quoted for the shell: sh (bash,
zsh, dash), fish or powershell.`,
		Example: `  eval "$(pixie env)"
  pixie env --shell fish | source
  pixie env --shell powershell | Invoke-Expression`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runEnv(cmd.Context(), opts) },
	}
	opts.settings = addSettingsFlags(cmd)
	cmd.Flags().StringVar(&opts.shell, "shell", "sh", "`SHELL` to write for: sh, fish or powershell")
	cmd.Flags().DurationVar(&opts.minTTL, "min-ttl", 0, "renew the token unless it stays valid for at least `DURATION`")
	_ = cmd.RegisterFlagCompletionFunc("shell", cobra.FixedCompletions([]string{"sh", "fish", "powershell"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runEnv(ctx context.Context, opts *envOptions) error {
	export, ok := envShells[opts.shell]
	if !ok {
		return usagef("--shell %q: want sh, fish or powershell", opts.shell)
	}
	if opts.minTTL < 0 {
		return usagef("--min-ttl must not be negative")
	}
	tok, err := opts.fetch(ctx)
	if err != nil {
		return err
	}
	expires := ""
	if !tok.Expiry.IsZero() {
		expires = tok.Expiry.UTC().Format(time.RFC3339)
	}
	_, err = fmt.Fprintf(opts.stdout, "%s\n%s\n",
		export("PIXIE_ACCESS_TOKEN", tok.AccessToken.Reveal()),
		export("PIXIE_ACCESS_TOKEN_EXPIRES_AT", expires))
	return err
}
