package pixie

import (
	"context"
	"errors"
	"log/slog"
)

// LegacyPasswordGrant obtains a token with the resource owner password
// credentials grant (RFC 6749 section 4.3).
//
// Deprecated: the password grant hands the user's password to the client. The
// OAuth 2.0 Security Best Current Practice (RFC 9700 section 2.4) says it MUST NOT
// be used, and OAuth 2.1 removes it. It exists only for legacy servers that offer
// nothing else; use the authorization code or device grant instead. Each call logs
// a warning.
func (c *Config) LegacyPasswordGrant(ctx context.Context, username string, password Secret, opts ...Option) (*Token, error) {
	if username == "" || password.IsZero() {
		return nil, errors.New("pixie: the password grant needs a username and a password")
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.WarnContext(ctx, "pixie: using the deprecated OAuth password grant; migrate to the authorization code or device grant",
		slog.String("client_id", c.ClientID))
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	form := c.grantForm("password", p)
	form.Set("username", username)
	form.Set("password", password.Reveal())
	return c.token(ctx, form, p.scopes, false)
}
