package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/pflag"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

// runStatusCheck is pixie status --check: exit 0 when the selected profile
// has a token that can be used without a login (a valid access token, or a
// refresh token the server has not rejected), 4 otherwise. With --online it
// also renews the token if needed and asks the server whether it accepts it:
// through introspection (RFC 7662) for a client that authenticates, else
// through the userinfo endpoint (OpenID Connect Core section 5.3).
func runStatusCheck(ctx context.Context, opts *statusOptions) error {
	se, err := opts.openSession(ctx, &settingsFlags{fs: pflag.NewFlagSet("status", pflag.ContinueOnError)})
	if err != nil {
		return err
	}
	defer se.Close()
	tok := se.stored
	switch {
	case tok != nil && rejectedAt(tok) != "":
		return loginRequired(se.key, fmt.Errorf("the server rejected the refresh token of %s at %s", keyLabel(se.key), rejectedAt(tok)))
	case tok != nil && !tok.Valid(opts.now(), 0) && tok.RefreshToken.IsZero() && se.settings.grant() != grantClientCredentials:
		return loginRequired(se.key, fmt.Errorf("the access token of %s expired and there is no refresh token to renew it", keyLabel(se.key)))
	}
	if !opts.online {
		fmt.Fprintf(opts.stderr, "%s: %s.\n", keyLabel(se.key), usableText(tok, opts))
		return nil
	}
	tok, src, err := opts.token(ctx, se, false, 0)
	if err != nil {
		return err
	}
	how, err := opts.accepted(ctx, se, tok, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "%s: the server accepts the access token (%s); %s.\n", keyLabel(se.key), how, expiryPhrase(tok, opts.now()))
	return nil
}

// usableText says why a token passes the offline check.
func usableText(tok *pixie.Token, opts *statusOptions) string {
	switch {
	case tok == nil:
		return "a token is fetched with client credentials when needed"
	case tok.Valid(opts.now(), 0):
		return "logged in; " + expiryPhrase(tok, opts.now())
	}
	return "logged in; the access token expired and will be renewed with the refresh token"
}

// errNoOnlineCheck is returned when the server offers no way to check a token.
var errNoOnlineCheck = errors.New("the server offers no way to check the token online: no introspection endpoint for this client, and no userinfo endpoint")

// accepted asks the server whether it accepts tok, and says how it asked. A
// refusal is a login-required error (exit code 4).
func (opts *statusOptions) accepted(ctx context.Context, se *session, tok *pixie.Token, src pixie.TokenSource) (string, error) {
	cfg, err := se.client(ctx)
	if err != nil {
		return "", err
	}
	refused := func(how string, err error) error {
		return loginRequired(se.key, fmt.Errorf("the server does not accept the access token of %s (%s): %w", keyLabel(se.key), how, err))
	}
	if m, err := cfg.EffectiveAuthMethod(); err == nil && m != pixie.AuthNone && cfg.Endpoint.IntrospectionURL != "" {
		in, err := cfg.Introspect(ctx, tok.AccessToken, pixie.HintAccessToken)
		if err != nil {
			return "", err
		}
		if !in.Active {
			return "", refused("introspection", errors.New("inactive"))
		}
		return "introspection", nil
	}
	if cfg.Endpoint.UserinfoURL == "" {
		return "", errNoOnlineCheck
	}
	// The Transport sends the token, with a DPoP proof when it is bound.
	client := &http.Client{Transport: &pixie.Transport{Source: src, Base: opts.httpClient().Transport, DPoP: se.prover()}}
	var uopts []oidc.UserInfoOption
	if cfg.AllowInsecureHTTP {
		uopts = append(uopts, oidc.AllowInsecureHTTP())
	}
	_, err = oidc.UserInfo(ctx, client, cfg.Endpoint.UserinfoURL, tok, uopts...)
	var pe *pixie.Error
	switch {
	case errors.As(err, &pe) && (pe.StatusCode == http.StatusUnauthorized || pe.StatusCode == http.StatusForbidden):
		return "", refused("userinfo", err)
	case pixie.LoginRequired(err):
		// The token was refused and the renewal the Transport tried was
		// rejected too: the refresh token is marked, as pixie token would.
		se.recordRejection(ctx, err)
		return "", opts.explain(se, err)
	case err != nil:
		return "", err
	}
	return "userinfo", nil
}
