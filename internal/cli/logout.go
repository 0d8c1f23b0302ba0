package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// logoutOptions are the options of pixie logout.
type logoutOptions struct {
	*app
	settings *settingsFlags
	noRevoke bool
}

func newLogoutCmd(a *app) *cobra.Command {
	opts := &logoutOptions{app: a}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens and delete them",
		Long: `Revoke the profile's refresh token and access token at the server (RFC 7009),
when it has a revocation endpoint, then delete them from the store. The profile's
settings stay, so pixie login needs no flags to log in again.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogout(cmd.Context(), opts) },
	}
	opts.settings = addSettingsFlags(cmd)
	cmd.Flags().BoolVar(&opts.noRevoke, "no-revoke", false, "delete the tokens locally without revoking them at the server")
	return cmd
}

func runLogout(ctx context.Context, opts *logoutOptions) error {
	s, key, err := opts.resolve(opts.settings)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == ExitLoginRequired {
		fmt.Fprintf(opts.stderr, "Not logged in (profile %q); nothing to do.\n", opts.profileName())
		return nil
	}
	if err != nil {
		return err
	}
	who := keyLabel(key)
	st, err := opts.openStoreIfExists()
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	tok, err := load(ctx, st, key)
	id, sealedElsewhere := sealedElsewhere(err)
	switch {
	case errors.Is(err, pixie.ErrNotFound):
		fmt.Fprintf(opts.stderr, "Not logged in (%s); nothing to do.\n", who)
		return nil
	case sealedElsewhere:
		// No configured key opens the token, so it cannot be revoked; left
		// in place it would only stand in the way of the next login.
		if err := st.Delete(ctx, key); err != nil {
			return err
		}
		fmt.Fprintf(opts.stderr, "Logged out of %s: its tokens, sealed with key %s, which is not configured, were deleted without being revoked at the server; they stay valid there until they expire.\n", who, id)
		return nil
	case err != nil:
		return err
	}
	revoked := false
	if !opts.noRevoke {
		kept := func(err error) error {
			return fmt.Errorf("revoke the tokens of %s: %w\nThe tokens were kept; pixie logout --no-revoke deletes them without revoking", who, err)
		}
		cfg, err := opts.config(ctx, s)
		if err != nil {
			return kept(err)
		}
		if cfg.Endpoint.RevocationURL != "" {
			if err := cfg.RevokeToken(ctx, tok); err != nil {
				return kept(err)
			}
			revoked = true
		}
	}
	if err := st.Delete(ctx, key); err != nil {
		return err
	}
	switch {
	case revoked:
		fmt.Fprintf(opts.stderr, "Logged out of %s: tokens revoked at the server and deleted.\n", who)
	case opts.noRevoke:
		fmt.Fprintf(opts.stderr, "Logged out of %s: tokens deleted (not revoked at the server).\n", who)
	default:
		fmt.Fprintf(opts.stderr, "Logged out of %s: tokens deleted; the server has no revocation endpoint, so they stay valid until they expire.\n", who)
	}
	return nil
}
