// Package cli implements the pixie command: login, token, curl, status, logout,
// inspect, serve and quickstart. Each command is an options struct and a run
// function that writes to injected streams, so the same code paths serve the
// binary, quickstart and the tests.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// Exit codes of the pixie command. Scripts depend on them.
const (
	ExitOK            = 0 // success
	ExitFailure       = 1 // any other failure
	ExitUsage         = 2 // bad flags or arguments
	ExitLoginRequired = 4 // no token, or the refresh token was rejected: log in again
	// ExitInterrupted is 128 + SIGINT, as shells report a command Ctrl-C
	// ended, so that scripts tell an interruption from a failure.
	ExitInterrupted = 130
)

// Main runs the pixie command with args (without the program name) and returns
// its exit code. Run as docker-credential-pixie (the name in os.Args[0]), it
// runs pixie docker-credential. SIGINT and SIGTERM cancel the command's
// context; a second one ends the process at once.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == dockerHelperName {
		args = append([]string{"docker-credential"}, args...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return run(ctx, &app{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		getenv: os.Getenv,
		now:    time.Now,
	}, args)
}

// app is what every command shares: the streams, the environment and the
// global flags. Quickstart builds its own, with a temporary home and hooks that
// play the user.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time

	// profile is --profile; verbose is --verbose.
	profile string
	verbose bool

	// hooks replace the user's browser and terminal in quickstart; nil in the
	// command.
	hooks *hooks
	// storeKey, when set, seals the token store instead of the key resolver.
	storeKey string
}

// run executes one command line against a.
func run(ctx context.Context, a *app, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Ctrl-C: the user knows why it stopped.
		fmt.Fprintln(a.stderr, "pixie: interrupted")
		return ExitInterrupted
	}
	code := exitCode(err)
	fmt.Fprintf(a.stderr, "pixie: %s\n", message(err))
	var ue *usageError
	switch {
	case errors.As(err, &ue) && ue.cmd != "":
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", ue.cmd)
	case code == ExitUsage && ue == nil:
		fmt.Fprintln(a.stderr, "Run 'pixie --help' for usage.")
	}
	if code == ExitFailure && pixie.Temporary(err) {
		fmt.Fprintln(a.stderr, temporaryAdvice(err))
	}
	return code
}

// temporaryAdvice tells the user that a transient failure (a server unreachable,
// overloaded or failing: see [pixie.Temporary]) may pass, and when to retry if
// the server said.
func temporaryAdvice(err error) string {
	if d, ok := pixie.RetryAfter(err); ok {
		return fmt.Sprintf("This may be temporary: the server asked to wait %s before trying again.", d)
	}
	return "This may be temporary (the server is unreachable or busy): try again later."
}

// newRootCmd builds the command tree.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "pixie",
		Short: "Get, keep and use OAuth 2.0 tokens",
		Long: `pixie gets OAuth 2.0 and OpenID Connect tokens, keeps them sealed in a local
store, refreshes them when needed, and calls APIs with them.

Start with 'pixie quickstart' to see every flow run against a local server.

Settings come from a profile in $PIXIE_HOME/config.yaml, from flags, or both
(flags win). Environment: PIXIE_HOME, PIXIE_PROFILE, PIXIE_STORE_KEY, NO_COLOR.

Exit codes: 0 success, 1 failure, 2 usage error, 4 login required (no token,
or the server rejected the refresh token), 130 interrupted (Ctrl-C).`,
		Version:       versionText(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Help, completion and serve work whatever the profile name.
			switch cmd.Name() {
			case "login", "token", "curl", "status", "logout", "inspect", "env", "reset":
				return a.checkProfileName()
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&a.profile, "profile", "p", "", "profile `NAME` in config.yaml (default $PIXIE_PROFILE or \"default\")")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log each HTTP exchange to stderr, secrets redacted")
	_ = root.RegisterFlagCompletionFunc("profile", a.completeProfiles)
	// A bad flag is answered with the help of the command it was given to.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{err: err, cmd: cmd.CommandPath()} })
	root.AddCommand(
		newLoginCmd(a),
		newTokenCmd(a),
		newCurlCmd(a),
		newStatusCmd(a),
		newLogoutCmd(a),
		newInspectCmd(a),
		newServeCmd(a),
		newQuickstartCmd(a),
		newEnvCmd(a),
		newGitCredentialCmd(a),
		newDockerCredentialCmd(a),
		newVersionCmd(a),
		newResetCmd(a),
		newManCmd(a),
	)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = usageArgs(cobra.ExactArgs(1))
			// Reached only for a shell that has no subcommand.
			c.RunE = func(_ *cobra.Command, args []string) error {
				return usagef("unknown shell %q: want bash, zsh, fish or powershell", args[0])
			}
			for _, sub := range c.Commands() {
				sub.Args = usageArgs(sub.Args)
			}
		}
	}
	return root
}

// profileName returns the selected profile: --profile, else $PIXIE_PROFILE,
// else "default".
func (a *app) profileName() string {
	if a.profile != "" {
		return a.profile
	}
	if p := a.getenv("PIXIE_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// checkProfileName refuses a profile name that is not a plain word: names are
// printed in commands to copy, and "flags:" keys tokens cached for flags.
func (a *app) checkProfileName() error {
	name := a.profileName()
	alnum := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	first, _ := utf8.DecodeRuneInString(name)
	if alnum(first) && strings.IndexFunc(name, func(r rune) bool { return !alnum(r) && !strings.ContainsRune("._-@", r) }) < 0 {
		return nil
	}
	source := "--profile"
	if a.profile == "" {
		source = "PIXIE_PROFILE"
	}
	return usagef("%s: profile %q: want letters, digits, '.', '_', '-' or '@', starting with a letter or digit", source, name)
}

// profileExplicit reports whether the user named a profile.
func (a *app) profileExplicit() bool {
	return a.profile != "" || a.getenv("PIXIE_PROFILE") != ""
}

// logger returns the --verbose logger, or nil.
func (a *app) logger() *slog.Logger {
	if !a.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
			if at.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return redactAttr(at)
		},
	}))
}

// sensitiveKeys are attribute names whose values are never logged, whatever
// their type.
var sensitiveKeys = []string{"token", "secret", "password", "authorization", "code", "verifier", "assertion", "cookie"}

// redactAttr replaces the value of an attribute whose name suggests a
// credential. pixie's own types already log redacted; this guards plain strings.
func redactAttr(at slog.Attr) slog.Attr {
	k := strings.ToLower(at.Key)
	for _, s := range sensitiveKeys {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasSuffix(k, "-"+s) {
			if at.Value.Kind() == slog.KindString && at.Value.String() != "" {
				return slog.String(at.Key, "[redacted]")
			}
		}
	}
	return at
}

// exitError is an error with its exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad command line: exit code 2. cmd, when set, is the
// command whose --help the user is sent to.
type usageError struct {
	err error
	cmd string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err: err} }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// usageArgs makes an argument validator's errors usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	if v == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageErr(err)
		}
		return nil
	}
}

// loginRequired wraps err, whose cause means the user must log in again to
// get key's token, with the command that does it.
func loginRequired(key string, err error) error {
	hint := "pixie login with the same flags (and --profile NAME to keep them)"
	if name, ok := profileOfKey(key); ok {
		hint = "pixie login --profile " + name
	}
	return &exitError{code: ExitLoginRequired, err: fmt.Errorf("%w\nLog in with: %s", err, hint)}
}

// exitCode maps an error to the command's exit code.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if pixie.LoginRequired(err) {
		return ExitLoginRequired
	}
	if isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

// isCobraUsage recognises the errors cobra returns for an unknown command, which
// it does not let callers wrap.
func isCobraUsage(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ") || strings.HasPrefix(err.Error(), "unknown flag")
}

// message is the error text shown after "pixie: ": the library's errors,
// which start with "pixie: " too, do not repeat it. Errors quote what servers
// said (error_description, status lines), so control characters are escaped.
func message(err error) string {
	return terminalText(strings.ReplaceAll(strings.TrimPrefix(err.Error(), "pixie: "), ": pixie: ", ": "))
}
