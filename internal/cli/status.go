package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// statusOptions are the options of pixie status.
type statusOptions struct {
	*app
	output string
	// check and online are --check and --online (see statuscheck.go).
	check, online bool
}

func newStatusCmd(a *app) *cobra.Command {
	opts := &statusOptions{app: a}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the profiles and their tokens",
		Long: `Show every profile (or the one named with --profile or PIXIE_PROFILE):
issuer, client, grant, scopes, when the access token expires, whether a refresh
token is held, and where the token store and its key are; for a profile of
pixie login --resource, the protected resource and how its client was
obtained (client ID given, client ID metadata document, stored or new
registration). Tokens cached for flags given without a profile show as
"flags:". A token the server refused to renew shows "login required"; one sealed with a key that is not configured
shows that key's id (pixie login or pixie logout replaces it). Tokens are not
renewed and never shown.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.check || opts.online {
				return runStatusCheck(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output `FORMAT`: text or json")
	cmd.Flags().BoolVar(&opts.check, "check", false, "only check the profile: exit 0 when it has a usable token, 4 when it needs a login")
	cmd.Flags().BoolVar(&opts.online, "online", false, "with --check, also ask the server whether it accepts the token (introspection or userinfo)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// profileStatus is one profile, or one token cached for flags, in pixie
// status.
type profileStatus struct {
	// Profile is the profile's name; empty for a token cached for flags.
	Profile string `json:"profile,omitempty"`
	// Flags marks a token cached for flags given without a profile (or
	// changing a profile's client or request).
	Flags           bool     `json:"flags,omitempty"`
	Issuer          string   `json:"issuer,omitempty"`
	ClientID        string   `json:"client_id,omitempty"`
	Grant           string   `json:"grant,omitempty"`
	Scopes          []string `json:"scopes"`
	LoggedIn        bool     `json:"logged_in"`
	ExpiresAt       string   `json:"expires_at,omitempty"`
	Expired         bool     `json:"expired"`
	HasRefreshToken bool     `json:"has_refresh_token"`
	// RefreshRejectedAt is when the server rejected the refresh token: only
	// a new login helps.
	RefreshRejectedAt string `json:"refresh_rejected_at,omitempty"`
	// SealedWithKey is the id of the key that sealed a token no configured
	// key opens; Error says why any other stored token cannot be read.
	SealedWithKey string `json:"sealed_with_key,omitempty"`
	Error         string `json:"error,omitempty"`
	Store         string `json:"store"`
	// KeySource says where the store's keys come from.
	KeySource string `json:"key_source,omitempty"`
	// DPoPJKT is the thumbprint of the DPoP key the tokens are bound to
	// (RFC 9449 section 6), when they are.
	DPoPJKT string `json:"dpop_jkt,omitempty"`
	// Resource is the protected resource a profile of pixie login --resource
	// is for, and ClientSource how its client was obtained: client-id,
	// client-id-metadata-document, stored-registration or new-registration.
	Resource     string `json:"resource,omitempty"`
	ClientSource string `json:"client_source,omitempty"`
}

func runStatus(ctx context.Context, opts *statusOptions) error {
	if opts.output != "text" && opts.output != "json" {
		return usagef("--output %q: want text or json", opts.output)
	}
	c, _, err := opts.loadConfig()
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(c.Profiles))
	if opts.profileExplicit() {
		name := opts.profileName()
		if _, ok := c.Profiles[name]; !ok {
			return noProfile(name)
		}
		names = []string{name}
	}
	path, err := opts.storePath()
	if err != nil {
		return err
	}
	st, err := opts.readStore()
	if err != nil {
		return err
	}
	keySource := ""
	var flagsKeys []string
	if st != nil {
		defer st.Close()
		keySource = st.KeySource().String()
		if !opts.profileExplicit() {
			keys, err := st.Keys(ctx)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if _, ok := profileOfKey(k); !ok {
					flagsKeys = append(flagsKeys, k)
				}
			}
		}
	}
	list := []profileStatus{}
	for _, key := range append(names, flagsKeys...) {
		ps := profileStatus{Store: path, KeySource: keySource}
		if name, ok := profileOfKey(key); ok {
			s := c.Profiles[name]
			ps.Profile, ps.Issuer, ps.ClientID, ps.Grant, ps.Scopes = name, s.server(), s.ClientID, s.grant(), s.Scopes
			ps.Resource, ps.ClientSource = s.Resource, s.ClientSource
		} else {
			ps.Flags = true
			ps.Issuer, ps.ClientID = flagsOfKey(key)
		}
		tok, err := load(ctx, st, key)
		id, sealedElsewhere := sealedElsewhere(err)
		switch {
		case errors.Is(err, pixie.ErrNotFound):
		case sealedElsewhere:
			ps.SealedWithKey = id.String()
		case err != nil:
			ps.Error = err.Error()
		default:
			ps.HasRefreshToken = !tok.RefreshToken.IsZero()
			ps.DPoPJKT = boundJKT(tok)
			ps.RefreshRejectedAt = rejectedAt(tok)
			ps.LoggedIn = ps.RefreshRejectedAt == ""
			if len(tok.Scope) > 0 {
				ps.Scopes = tok.Scope
			}
			if !tok.Expiry.IsZero() {
				ps.ExpiresAt = tok.Expiry.UTC().Format(time.RFC3339)
				ps.Expired = !tok.Expiry.After(opts.now())
			}
		}
		if ps.Scopes == nil {
			ps.Scopes = []string{}
		}
		list = append(list, ps)
	}
	if opts.output == "json" {
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(opts.stderr, "No profiles. Log in with: pixie login --issuer URL --client-id ID")
		return nil
	}
	rows := [][]string{{"PROFILE", "ISSUER", "CLIENT", "GRANT", "SCOPES", "TOKEN", "REFRESH"}}
	for _, ps := range list {
		refresh := "no"
		if ps.HasRefreshToken {
			refresh = "yes"
		}
		profile := ps.Profile
		if ps.Flags {
			profile = "flags:"
		}
		rows = append(rows, []string{profile, ps.Issuer, ps.ClientID, cmp.Or(ps.Grant, "-"),
			cmp.Or(terminalLine(strings.Join(ps.Scopes, " ")), "-"), ps.tokenState(), refresh})
	}
	if err := writeTable(opts.stdout, rows); err != nil {
		return err
	}
	for _, ps := range list {
		if ps.Resource != "" {
			fmt.Fprintf(opts.stdout, "Profile %s is for resource %s; client from %s.\n", ps.Profile, terminalLine(ps.Resource), clientSourcePhrase(ps.ClientSource))
		}
	}
	fmt.Fprintf(opts.stdout, "Store: %s\n", path)
	if keySource != "" {
		fmt.Fprintf(opts.stdout, "Key: %s\n", keySource)
	}
	return nil
}

// tokenState describes the stored token in the status table.
func (ps profileStatus) tokenState() string {
	switch {
	case ps.SealedWithKey != "":
		return "sealed with key " + ps.SealedWithKey + ", not configured"
	case ps.Error != "":
		return "unreadable: " + ps.Error
	case ps.RefreshRejectedAt != "":
		return "login required: refresh token rejected " + ps.RefreshRejectedAt
	case !ps.LoggedIn:
		return "none"
	case ps.ExpiresAt == "":
		return "no expiry" + ps.binding()
	case ps.Expired:
		return "expired " + ps.ExpiresAt + ps.binding()
	}
	return "expires " + ps.ExpiresAt + ps.binding()
}
