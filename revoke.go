package pixie

import (
	"context"
	"errors"
	"net/url"
)

// Token type hints for [Config.Revoke] and [Config.Introspect] (RFC 7009 section
// 2.1, RFC 7662 section 2.1).
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Revoke asks the server to revoke token (RFC 7009 section 2.1); hint, optional,
// is [HintAccessToken] or [HintRefreshToken]. The server answers 200 also for a
// token that was already invalid, so nil means the token is no longer usable.
// A 503 is retried after its Retry-After (RFC 7009 section 2.2.1), within
// [Config.Retry].
func (c *Config) Revoke(ctx context.Context, token Secret, hint string) error {
	if token.IsZero() {
		return errors.New("pixie: nothing to revoke: the token is empty")
	}
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	_, err := c.post(ctx, "revocation", c.Endpoint.RevocationURL, form, false)
	return err
}

// RevokeToken revokes tok's refresh token, then its access token, so that
// neither remains usable even on a server that revokes only the token it is
// given (RFC 7009 section 2.1 lets a server revoke both from the refresh token).
// It returns the first error, after trying both.
func (c *Config) RevokeToken(ctx context.Context, tok *Token) error {
	if tok == nil {
		return errors.New("pixie: nothing to revoke: no token")
	}
	var errs []error
	if !tok.RefreshToken.IsZero() {
		errs = append(errs, c.Revoke(ctx, tok.RefreshToken, HintRefreshToken))
	}
	if !tok.AccessToken.IsZero() {
		errs = append(errs, c.Revoke(ctx, tok.AccessToken, HintAccessToken))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
