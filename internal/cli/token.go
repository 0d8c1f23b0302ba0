package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// tokenOptions are the options of pixie token.
type tokenOptions struct {
	*app
	settings            *settingsFlags
	output              string
	forceRefresh        bool
	minTTL              time.Duration
	includeRefreshToken bool
}

func newTokenCmd(a *app) *cobra.Command {
	opts := &tokenOptions{app: a}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a valid access token, refreshing it when needed",
		Long: `Print a valid access token of the profile, refreshing it (or fetching a new
one, for client credentials) when it is about to expire.

Output formats: bare (the token alone), header ("Authorization: Bearer ..."),
json (access_token, token_type, expires_at, expires_in, scope, id_token: every
key always present, as docs/cli.md states), exec-credential (a Kubernetes
ExecCredential, for kubectl's exec credential plugins; it logs in when no token
is stored and someone is there to do it). The refresh token is printed only
with --include-refresh-token.

Without a profile, flags alone work for client credentials:
  pixie token --issuer URL --client-id ID --client-secret-env VAR --grant client_credentials -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runToken(cmd.Context(), opts) },
	}
	opts.settings = addSettingsFlags(cmd)
	cmd.Flags().StringVarP(&opts.output, "output", "o", "bare", "output `FORMAT`: bare, header, json or exec-credential")
	cmd.Flags().BoolVar(&opts.forceRefresh, "force-refresh", false, "renew the token even if it is still valid")
	cmd.Flags().DurationVar(&opts.minTTL, "min-ttl", 0, "renew the token unless it stays valid for at least `DURATION`")
	cmd.Flags().BoolVar(&opts.includeRefreshToken, "include-refresh-token", false, "include the refresh token in json output")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"bare", "header", "json", outputExecCredential}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runToken(ctx context.Context, opts *tokenOptions) error {
	switch opts.output {
	case "bare", "header", "json", outputExecCredential:
	default:
		return usagef("--output %q: want bare, header, json or exec-credential", opts.output)
	}
	if opts.includeRefreshToken && opts.output != "json" {
		return usagef("--include-refresh-token needs --output json")
	}
	if opts.minTTL < 0 {
		return usagef("--min-ttl must not be negative")
	}
	if opts.output == outputExecCredential {
		return runExecCredential(ctx, opts)
	}
	tok, err := opts.fetch(ctx)
	if err != nil {
		return err
	}
	switch opts.output {
	case "bare":
		_, err = fmt.Fprintln(opts.stdout, tok.AccessToken.Reveal())
	case "header":
		_, err = fmt.Fprintf(opts.stdout, "Authorization: %s %s\n", tok.Type(), tok.AccessToken.Reveal())
	case "json":
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(tokenJSON(tok, opts.now(), opts.includeRefreshToken))
	}
	return err
}

// fetch returns the profile's token: the stored one while it is valid for
// --min-ttl, else a renewed one (always with --force-refresh).
func (opts *tokenOptions) fetch(ctx context.Context) (*pixie.Token, error) {
	se, err := opts.openSession(ctx, opts.settings)
	if err != nil {
		return nil, err
	}
	defer se.Close()
	tok := se.cached(opts.minTTL)
	if tok == nil || opts.forceRefresh {
		if tok, _, err = opts.token(ctx, se, opts.forceRefresh, opts.minTTL); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// tokenOutput is the json output of pixie token, version 1 of the contract in
// docs/cli.md: every key is always present, "" (or null for expires_in) when
// the token has no such value; refresh_token only with --include-refresh-token.
type tokenOutput struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	ExpiresAt    string  `json:"expires_at"`
	ExpiresIn    *int64  `json:"expires_in"`
	Scope        string  `json:"scope"`
	IDToken      string  `json:"id_token"`
	RefreshToken *string `json:"refresh_token,omitempty"`
}

func tokenJSON(tok *pixie.Token, now time.Time, withRefresh bool) tokenOutput {
	out := tokenOutput{
		AccessToken: tok.AccessToken.Reveal(),
		TokenType:   tok.Type(),
		Scope:       strings.Join(tok.Scope, " "),
		IDToken:     tok.IDToken.Reveal(),
	}
	if !tok.Expiry.IsZero() {
		out.ExpiresAt = tok.Expiry.UTC().Format(time.RFC3339)
		in := int64(tok.ExpiresIn(now) / time.Second)
		out.ExpiresIn = &in
	}
	if withRefresh {
		rt := tok.RefreshToken.Reveal()
		out.RefreshToken = &rt
	}
	return out
}
