package pixie

import (
	"context"
	"fmt"
)

// Refresh uses tok's refresh token to obtain a new access token (RFC 6749 section
// 6). [Scopes] may narrow the grant; without it, no scope is sent and the server
// keeps the original scope.
//
// When the server rotates refresh tokens, the returned token holds the new one and
// the old one must not be used again: persist the result before using it (a
// [Store] does). When the response carries no refresh token, the returned token
// keeps tok's, as RFC 6749 section 6 allows. Likewise a missing ID token or scope
// is carried over.
//
// A rejected refresh token yields an error for which [LoginRequired] is true.
func (c *Config) Refresh(ctx context.Context, tok *Token, opts ...Option) (*Token, error) {
	if tok == nil || tok.RefreshToken.IsZero() {
		return nil, &Error{Op: "token", Err: fmt.Errorf("%w (the token has no refresh token)", ErrNoToken)}
	}
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	requested := tok.Scope
	if !p.scopesSet {
		// No scope parameter: the server issues the originally granted scope.
		p.scopes = nil
	} else {
		requested = p.scopes
	}
	form := c.grantForm("refresh_token", p)
	form.Set("refresh_token", tok.RefreshToken.Reveal())
	// A refresh with a rotating server must not be sent twice: the second
	// attempt would reuse a token the first one may have consumed.
	t, err := c.token(ctx, form, requested, true)
	if err != nil {
		return nil, err
	}
	if t.RefreshToken.IsZero() {
		t.RefreshToken = tok.RefreshToken
	}
	if t.IDToken.IsZero() {
		t.IDToken = tok.IDToken
	}
	return t, nil
}
