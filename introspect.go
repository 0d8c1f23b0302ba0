package pixie

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// Introspection is a token introspection response (RFC 7662 section 2.2). Only
// Active is always present; an inactive token carries no other information.
type Introspection struct {
	Active    bool
	Scope     []string
	ClientID  string
	Username  string
	TokenType string
	Expiry    time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	Subject   string
	Audience  []string
	Issuer    string
	JWTID     string
	// Extra holds every other member of the response, such as "cnf".
	Extra map[string]any
}

// Introspect asks the server about token (RFC 7662 section 2.1); hint is
// optional. The client authenticates as for the token endpoint. An inactive
// token is not an error: check Active.
func (c *Config) Introspect(ctx context.Context, token Secret, hint string) (*Introspection, error) {
	if token.IsZero() {
		return nil, errors.New("pixie: nothing to introspect: the token is empty")
	}
	form := url.Values{"token": {token.Reveal()}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	const op = "introspection"
	resp, err := c.post(ctx, op, c.Endpoint.IntrospectionURL, form, false)
	if err != nil {
		return nil, err
	}
	in, err := decodeIntrospection(resp)
	if err != nil {
		return nil, &Error{Op: op, StatusCode: resp.StatusCode, Err: err}
	}
	return in, nil
}

func decodeIntrospection(resp *wire.Response) (*Introspection, error) {
	o, err := wire.DecodeObject(resp.Header.Get("Content-Type"), resp.Body, "introspection")
	if err != nil {
		return nil, err
	}
	if !o.Has("active") {
		return nil, errors.New("introspection response has no active member (RFC 7662 section 2.2)")
	}
	in := &Introspection{
		Active:    o.Bool("active"),
		Scope:     wire.SplitScope(o.String("scope")),
		ClientID:  o.String("client_id"),
		Username:  o.String("username"),
		TokenType: o.String("token_type"),
		Expiry:    o.Time("exp"),
		IssuedAt:  o.Time("iat"),
		NotBefore: o.Time("nbf"),
		Subject:   o.String("sub"),
		Audience:  o.Strings("aud"),
		Issuer:    o.String("iss"),
		JWTID:     o.String("jti"),
	}
	if err := o.Err(); err != nil {
		return nil, fmt.Errorf("introspection response: %w", err)
	}
	in.Extra = o.Rest("active", "scope", "client_id", "username", "token_type", "exp", "iat", "nbf", "sub", "aud", "iss", "jti")
	return in, nil
}
