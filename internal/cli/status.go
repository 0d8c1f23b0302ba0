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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// statusOptions are the options of pixie status.
type statusOptions struct {
	*app
	output string
}

func newStatusCmd(a *app) *cobra.Command {
	opts := &statusOptions{app: a}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the profiles and their tokens",
		Long: `Show every profile (or the one named with --profile or PIXIE_PROFILE):
issuer, client, grant, scopes, when the access token expires, whether a refresh
token is held, and where the token store is. Tokens are not renewed and never
shown.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), opts) },
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "text", "output `FORMAT`: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// profileStatus is one profile in pixie status.
type profileStatus struct {
	Profile         string   `json:"profile"`
	Issuer          string   `json:"issuer,omitempty"`
	ClientID        string   `json:"client_id,omitempty"`
	Grant           string   `json:"grant"`
	Scopes          []string `json:"scopes"`
	LoggedIn        bool     `json:"logged_in"`
	ExpiresAt       string   `json:"expires_at,omitempty"`
	Expired         bool     `json:"expired"`
	HasRefreshToken bool     `json:"has_refresh_token"`
	Store           string   `json:"store"`
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
	list := []profileStatus{}
	if len(names) > 0 {
		st, err := opts.openStoreIfExists()
		if err != nil {
			return err
		}
		if st != nil {
			defer st.Close()
		}
		for _, name := range names {
			s := c.Profiles[name]
			ps := profileStatus{Profile: name, Issuer: s.Issuer, ClientID: s.ClientID, Grant: s.grant(), Scopes: s.Scopes, Store: path}
			if ps.Issuer == "" {
				ps.Issuer = cmp.Or(s.Provider, s.TokenURL)
			}
			tok, err := load(ctx, st, name)
			switch {
			case errors.Is(err, pixie.ErrNotFound):
			case err != nil:
				return fmt.Errorf("profile %q: %w", name, err)
			default:
				ps.LoggedIn = true
				ps.HasRefreshToken = !tok.RefreshToken.IsZero()
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
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tISSUER\tCLIENT\tGRANT\tSCOPES\tTOKEN\tREFRESH")
	for _, ps := range list {
		state := "none"
		switch {
		case !ps.LoggedIn:
		case ps.ExpiresAt == "":
			state = "no expiry"
		case ps.Expired:
			state = "expired " + ps.ExpiresAt
		default:
			state = "expires " + ps.ExpiresAt
		}
		refresh := "no"
		if ps.HasRefreshToken {
			refresh = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ps.Profile, ps.Issuer, ps.ClientID, ps.Grant, cmp.Or(strings.Join(ps.Scopes, " "), "-"), state, refresh)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Store: %s\n", path)
	return nil
}
