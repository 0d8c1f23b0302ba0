package pixie

import (
	"context"
	"errors"
)

// Token type identifiers of RFC 8693 section 3, for [TokenExchangeRequest].
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeSAML1        = "urn:ietf:params:oauth:token-type:saml1"
	TokenTypeSAML2        = "urn:ietf:params:oauth:token-type:saml2"
)

// TokenExchangeRequest describes a token exchange (RFC 8693 section 2.1): the
// subject token to exchange and, for delegation, the actor's token.
type TokenExchangeRequest struct {
	// SubjectToken represents the party on whose behalf the new token is
	// requested; SubjectTokenType is its type (required).
	SubjectToken     Secret
	SubjectTokenType string
	// ActorToken, optional, represents the acting party; ActorTokenType is
	// required with it.
	ActorToken     Secret
	ActorTokenType string
	// RequestedTokenType, optional, is the type of token wanted.
	RequestedTokenType string
}

// TokenExchange exchanges a token for another (RFC 8693). [Resource], [Audience]
// and [Scopes] name the target. The issued token's type is in
// Token.IssuedTokenType; its TokenType may be "N_A" when it is not an access token
// (RFC 8693 section 2.2.1).
func (c *Config) TokenExchange(ctx context.Context, req TokenExchangeRequest, opts ...Option) (*Token, error) {
	if req.SubjectToken.IsZero() || req.SubjectTokenType == "" {
		return nil, errors.New("pixie: token exchange needs a subject token and its type (RFC 8693 section 2.1)")
	}
	if !req.ActorToken.IsZero() && req.ActorTokenType == "" {
		return nil, errors.New("pixie: token exchange: an actor token needs its type (RFC 8693 section 2.1)")
	}
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	form := c.grantForm("urn:ietf:params:oauth:grant-type:token-exchange", p)
	form.Set("subject_token", req.SubjectToken.Reveal())
	form.Set("subject_token_type", req.SubjectTokenType)
	if !req.ActorToken.IsZero() {
		form.Set("actor_token", req.ActorToken.Reveal())
		form.Set("actor_token_type", req.ActorTokenType)
	}
	if req.RequestedTokenType != "" {
		form.Set("requested_token_type", req.RequestedTokenType)
	}
	return c.token(ctx, form, p.scopes, false)
}
