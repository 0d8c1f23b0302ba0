package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
)

func newGitCredentialCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "Give git the profile's access token (a git credential helper)",
		Long: `A git credential helper (https://git-scm.com/docs/gitcredentials): for
"get", it reads git's request on stdin and answers the username (git's, else
oauth2), the profile's access token as the password, refreshed when needed,
and its expiry (password_expiry_utc).

The profile is --profile (or $PIXIE_PROFILE) when given, else the one the
hosts map of config.yaml names for the host:

  hosts:
    git.example.com: work

A host no profile is named for gets no answer, so git asks its other helpers.
Tokens go over https only (http on a loopback host). "store" and "erase" do
nothing: pixie keeps its tokens itself.`,
		Example: `  git config --global credential.https://git.example.com.helper '!pixie git-credential'`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGitCredential(cmd.Context(), a, args[0])
		},
	}
}

// runGitCredential answers one request of git's credential helper protocol.
// Other operations than get are ignored, as the protocol asks of helpers.
func runGitCredential(ctx context.Context, a *app, op string) error {
	req, err := readGitCredential(a.stdin)
	if err != nil || op != "get" {
		return err
	}
	host := req["host"]
	if host == "" {
		return nil
	}
	name, err := a.hostProfile(host)
	if err != nil || name == "" {
		return err
	}
	origin := req["protocol"] + "://" + host
	if err := wire.CheckURL(origin, false); err != nil {
		return fmt.Errorf("not giving git the token of profile %q for %s: tokens travel over https only (http to a loopback host)", name, terminalLine(origin))
	}
	tok, err := a.profileToken(ctx, name)
	if err != nil {
		return err
	}
	username := req["username"]
	if username == "" {
		username = "oauth2"
	}
	resp := []string{"username=" + username, "password=" + tok.AccessToken.Reveal()}
	if !tok.Expiry.IsZero() {
		resp = append(resp, fmt.Sprintf("password_expiry_utc=%d", tok.Expiry.Unix()))
	}
	for _, line := range resp {
		// A newline would start another attribute of git's answer.
		if strings.ContainsAny(line, "\n\x00") {
			return fmt.Errorf("the token of profile %q holds a newline or NUL, which git's credential protocol cannot carry", name)
		}
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", strings.Join(resp, "\n"))
	return err
}

// readGitCredential reads git's key=value lines up to a blank line or the end
// of input, keeping the first value of each key.
func readGitCredential(r io.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("git credential request: line %q is not key=value", terminalLine(line))
		}
		if _, seen := attrs[k]; !seen {
			attrs[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("git credential request: %w", err)
	}
	return attrs, nil
}

// hostProfile returns the profile whose token goes to host (host[:port]):
// the profile given with --profile or $PIXIE_PROFILE, else the one the hosts
// map of config.yaml names for it (hosts compare without regard to case), else
// "". The name is checked as --profile's is.
func (a *app) hostProfile(host string) (string, error) {
	if !a.profileExplicit() {
		c, _, err := a.loadConfig()
		if err != nil {
			return "", err
		}
		for h, name := range c.Hosts {
			if strings.EqualFold(h, host) {
				a.profile = name
			}
		}
		if a.profile == "" {
			return "", nil
		}
	}
	if err := a.checkProfileName(); err != nil {
		return "", err
	}
	return a.profileName(), nil
}

// profileToken returns a valid token of the profile name, as pixie token
// --profile NAME prints it.
func (a *app) profileToken(ctx context.Context, name string) (*pixie.Token, error) {
	a.profile = name
	opts := &tokenOptions{app: a, settings: &settingsFlags{fs: pflag.NewFlagSet(name, pflag.ContinueOnError)}}
	return opts.fetch(ctx)
}
