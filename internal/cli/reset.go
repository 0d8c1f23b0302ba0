package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// resetOptions are the options of pixie reset.
type resetOptions struct {
	*app
	all bool
	yes bool
}

func newResetCmd(a *app) *cobra.Command {
	opts := &resetOptions{app: a}
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Delete a profile's local state, or everything pixie keeps",
		Long: `Delete the profile's settings from config.yaml and its stored tokens (the
down-scoped tokens derived from it and its DPoP key included), or with --all
every profile and every stored token. Nothing is revoked at the server: use
pixie logout first for that. Tokens sealed with a key that is no longer
configured are deleted too, without being opened.

On a terminal pixie asks before deleting; elsewhere it needs --yes.`,
		Example: `  pixie reset --profile work
  pixie reset --all --yes`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runReset(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVar(&opts.all, "all", false, "delete every profile and every stored token")
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runReset(ctx context.Context, opts *resetOptions) error {
	if opts.all && opts.profileExplicit() {
		return usagef("give either --all or a profile, not both")
	}
	c, path, err := opts.loadConfig()
	if err != nil && !opts.all {
		return err
	}
	st, err := opts.openStoreIfExists()
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	var keys []string
	if st != nil {
		if keys, err = st.Keys(ctx); err != nil {
			return err
		}
	}
	name := opts.profileName()
	what := "every profile and every stored token"
	hasProfile := c != nil && len(c.Profiles) > 0
	if !opts.all {
		keys = ownKeys(name, keys)
		_, hasProfile = c.Profiles[name]
		what = fmt.Sprintf("profile %q: its settings and %d stored token(s)", name, len(keys))
	}
	if !hasProfile && len(keys) == 0 && (!opts.all || !fileExists(path)) {
		nothing := "no profiles and no stored tokens"
		if !opts.all {
			nothing = fmt.Sprintf("no profile %q and no token stored for it", name)
		}
		fmt.Fprintf(opts.stderr, "Nothing to reset: %s.\n", nothing)
		return nil
	}
	if err := opts.confirm("Delete " + what + "?"); err != nil {
		return err
	}
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return err
		}
	}
	if opts.all {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else if hasProfile {
		if err := opts.deleteProfile(ctx, name); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.stderr, "Deleted %s. Nothing was revoked at the server.\n", what)
	return nil
}

// ownKeys returns, of the store's keys, those of profile name: its token and
// the down-scoped ones derived from it.
func ownKeys(name string, keys []string) []string {
	var own []string
	for _, k := range keys {
		if p, ok := profileOfKey(k); ok && p == name {
			own = append(own, k)
		}
	}
	return own
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// confirm asks the user at the terminal to confirm question, unless --yes was
// given. Without a terminal to ask at, it fails with a usage error.
func (opts *resetOptions) confirm(question string) error {
	if opts.yes {
		return nil
	}
	f, ok := opts.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("%s Not asking without a terminal: give --yes to delete", question)
	}
	fmt.Fprintf(opts.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(opts.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("nothing deleted")
}

// deleteProfile removes profile name from config.yaml, holding the store's
// configuration lock as [app.saveProfile] does.
func (a *app) deleteProfile(ctx context.Context, name string) error {
	st, err := a.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	lease, err := st.Lock(ctx, configLock, 10*time.Second)
	if err != nil {
		return fmt.Errorf("delete profile %q: %w", name, err)
	}
	defer lease.Unlock(context.WithoutCancel(ctx))
	c, path, err := a.loadConfig()
	if err != nil {
		return err
	}
	delete(c.Profiles, name)
	if err := saveConfig(path, c); err != nil {
		return fmt.Errorf("delete profile %q: %w", name, err)
	}
	return nil
}
