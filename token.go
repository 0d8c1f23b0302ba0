package pixie

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Token is what a token endpoint issued (RFC 6749 section 5.1): an access token, its
// type and lifetime, and optionally a refresh token and an OpenID Connect ID token.
//
// A Token prints and logs without its credentials: %v, slog and encoding/json show
// the type, expiry and scope only. A Token is not modified after it is returned, so
// it may be shared between goroutines.
type Token struct {
	// AccessToken is the credential sent to resource servers.
	AccessToken Secret
	// TokenType is the token_type the server issued, such as "Bearer" or "DPoP"
	// (RFC 9449). A missing token_type is recorded as "Bearer".
	TokenType string
	// RefreshToken is the refresh token, if the server issued one. After a refresh
	// that returned none, it keeps the previous refresh token (RFC 6749 section 6).
	RefreshToken Secret
	// IDToken is the OpenID Connect ID token (a JWT), if one was issued. Verify it
	// with the oidc package before trusting its claims.
	IDToken Secret
	// Expiry is when the access token expires, computed from expires_in against the
	// client's wall clock when the response arrived; it carries no monotonic clock
	// reading, so that comparing it with time.Now() uses the wall clock, which
	// goes on while the machine is suspended. Zero means the server gave no
	// lifetime.
	Expiry time.Time
	// Lifetime is the access token's whole lifetime as issued (expires_in), or 0
	// when the server gave none. Unlike the time left, it does not shrink, so it
	// tells a short-lived token from a long-lived one near its end.
	Lifetime time.Duration
	// Scope is the granted scope. When the server omits scope, the grant was for the
	// requested scope (RFC 6749 section 5.1) and Scope holds the request's scopes.
	Scope []string
	// IssuedTokenType is the issued_token_type of a token exchange (RFC 8693
	// section 2.2.1), such as "urn:ietf:params:oauth:token-type:access_token".
	IssuedTokenType string
	// Extra holds every other member of the token response, decoded from JSON
	// (strings, float64 numbers, bools, maps, slices). It may hold credentials, so
	// it is never printed with the token.
	Extra map[string]any
}

// Type returns the token type to use in the Authorization header: "Bearer" for a
// missing or case-variant bearer type (RFC 6750 section 4: the type is
// case-insensitive), "DPoP" likewise, otherwise the issued type unchanged.
func (t *Token) Type() string {
	switch {
	case t == nil:
		return ""
	case t.TokenType == "", strings.EqualFold(t.TokenType, "bearer"):
		return "Bearer"
	case strings.EqualFold(t.TokenType, "dpop"):
		return "DPoP"
	}
	return t.TokenType
}

// Valid reports whether t holds an access token that, at now, is at least skew away
// from its expiry. A token without an expiry is valid until the server rejects it.
// The comparison is by wall clock, even for an Expiry made with time.Now().Add.
func (t *Token) Valid(now time.Time, skew time.Duration) bool {
	if t == nil || t.AccessToken.IsZero() {
		return false
	}
	return t.Expiry.IsZero() || now.Round(0).Add(skew).Before(t.Expiry)
}

// ExpiresIn returns the access token's remaining lifetime at now (negative once it
// has expired), or 0 when it has no expiry. Like [Token.Valid], it counts by wall
// clock.
func (t *Token) ExpiresIn(now time.Time) time.Duration {
	if t.Expiry.IsZero() {
		return 0
	}
	// Without a monotonic reading on one side, Sub uses the wall clocks.
	return t.Expiry.Sub(now.Round(0))
}

// String describes the token without its credentials.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Token{type=%s", t.Type())
	if !t.Expiry.IsZero() {
		fmt.Fprintf(&b, " expiry=%s", t.Expiry.UTC().Format(time.RFC3339))
	}
	if len(t.Scope) > 0 {
		fmt.Fprintf(&b, " scope=%q", strings.Join(t.Scope, " "))
	}
	fmt.Fprintf(&b, " refresh_token=%t id_token=%t}", !t.RefreshToken.IsZero(), !t.IDToken.IsZero())
	return b.String()
}

// Format implements fmt.Formatter: every verb prints [Token.String], so neither the
// credentials nor Extra can leak through %v, %+v or %#v. Format and MarshalJSON
// have value receivers, so a Token value (a struct field, say) is as safe to print
// and encode as a pointer.
func (t Token) Format(f fmt.State, verb rune) { fmt.Fprint(f, t.String()) }

// LogValue implements slog.LogValuer with the token's non-secret attributes.
func (t *Token) LogValue() slog.Value {
	if t == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{slog.String("type", t.Type())}
	if !t.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.Expiry))
	}
	if len(t.Scope) > 0 {
		attrs = append(attrs, slog.String("scope", strings.Join(t.Scope, " ")))
	}
	attrs = append(attrs, slog.Bool("refresh_token", !t.RefreshToken.IsZero()))
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the token's non-secret attributes only. To persist a token,
// use a [Store], which seals the credentials.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// OAuth2 converts t to a golang.org/x/oauth2 token, for APIs that take one. The
// result carries the credentials in plain strings.
func (t *Token) OAuth2() *oauth2.Token {
	o := &oauth2.Token{
		AccessToken:  t.AccessToken.Reveal(),
		TokenType:    t.Type(),
		RefreshToken: t.RefreshToken.Reveal(),
		Expiry:       t.Expiry,
		ExpiresIn:    int64(t.Lifetime / time.Second),
	}
	extra := make(map[string]any, len(t.Extra)+2)
	for k, v := range t.Extra {
		extra[k] = v
	}
	if !t.IDToken.IsZero() {
		extra["id_token"] = t.IDToken.Reveal()
	}
	if len(t.Scope) > 0 {
		extra["scope"] = strings.Join(t.Scope, " ")
	}
	return o.WithExtra(extra)
}

// TokenFromOAuth2 converts a golang.org/x/oauth2 token. The ID token and scope are
// taken from its extra fields when present. A nil token converts to nil.
func TokenFromOAuth2(o *oauth2.Token) *Token {
	if o == nil {
		return nil
	}
	t := &Token{
		AccessToken:  NewSecret(o.AccessToken),
		TokenType:    o.TokenType,
		RefreshToken: NewSecret(o.RefreshToken),
		Expiry:       o.Expiry,
		Lifetime:     time.Duration(o.ExpiresIn) * time.Second,
	}
	if s, ok := o.Extra("id_token").(string); ok {
		t.IDToken = NewSecret(s)
	}
	if s, ok := o.Extra("scope").(string); ok {
		t.Scope = strings.Fields(s)
	}
	return t
}
