package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/sqlitestore"
)

// A variant is a down-scoped token of a logged-in profile: pixie token
// --scope, --resource or --audience on a profile whose grant can be renewed,
// naming another scope, resource or audience than the profile's. It needs no
// login of its own. It is renewed from the profile's grant:
//
//   - a narrower scope, or resources, by refreshing with the profile's
//     refresh token (RFC 6749 section 6 allows a scope no wider than the
//     grant's; RFC 8707 section 2.2 a resource on refresh);
//   - an audience, which a refresh cannot name, by exchanging the profile's
//     access token (RFC 8693 section 2.1) where the server offers it.
//
// Each variant is cached under a key of its own (see [variantKey]). It never
// holds a refresh token: a refresh rotates the profile's refresh token, and the
// new one goes back into the profile's record under the profile's store lock,
// so that the profile keeps one grant and its next refresh does not present a
// refresh token the server already consumed.

// variantPrefix starts the store key of a variant: "variant:", the profile's
// name, then the identity of the request and what it names on lines of their
// own. Profile names cannot hold ':' or newlines.
const variantPrefix = "variant:"

// variantKey is the store key of the variant s of profile name.
func variantKey(name string, s Settings) string {
	return variantPrefix + name + "\n" + identity(s) + "\n" + variantText(s)
}

// variantProfile returns the profile whose variant key is, or false.
func variantProfile(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, variantPrefix)
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "\n")
	return name, true
}

// variantText describes what variant s asks for, for people.
func variantText(s Settings) string {
	var parts []string
	if len(s.Scopes) > 0 {
		parts = append(parts, "scope "+strings.Join(s.Scopes, " "))
	}
	if s.Audience != "" {
		parts = append(parts, "audience "+s.Audience)
	}
	if len(s.Resources) > 0 {
		parts = append(parts, "resource "+strings.Join(s.Resources, " "))
	}
	return strings.Join(parts, ", ")
}

// isVariant reports whether s, given on top of the profile's settings base,
// changes only what the token is for (scope, audience, resources) of a grant
// that a refresh renews: such a token derives from the profile's login.
func isVariant(s, base Settings) bool {
	if s.grant() == grantClientCredentials {
		// A new token is fetched for any request: there is nothing to derive.
		return false
	}
	same := s
	same.Scopes, same.Audience, same.Resources = base.Scopes, base.Audience, base.Resources
	return identity(same) == identity(base) && identity(s) != identity(base)
}

// variantLockTTL bounds a variant's renewal under the profile's store lock, as
// [pixie.SourceOptions.LockTTL] bounds the profile's own.
const variantLockTTL = 30 * time.Second

// renewVariant gets a new token of the variant session se from its profile's
// grant (see the variant documentation above).
func (se *session) renewVariant(ctx context.Context) (*pixie.Token, error) {
	cfg, err := se.client(ctx)
	if err != nil {
		return nil, err
	}
	st, err := se.store()
	if err != nil {
		return nil, err
	}
	if se.settings.Audience != "" {
		return se.exchangeVariant(ctx, cfg)
	}
	lease, err := st.Lock(ctx, se.profile, variantLockTTL)
	if err != nil {
		return nil, err
	}
	defer lease.Unlock(context.WithoutCancel(ctx))
	tok, ver, err := st.Load(ctx, se.profile)
	switch {
	case errors.Is(err, pixie.ErrNotFound):
		return nil, pixie.ErrNoToken
	case err != nil:
		return nil, err
	case tok.RefreshToken.IsZero():
		return nil, fmt.Errorf("%s holds no refresh token to derive a token for %s from: log in with these flags under another profile, or with offline_access", keyLabel(se.profile), variantText(se.settings))
	}
	opts := se.settings.resourceOptions()
	if len(se.settings.Scopes) > 0 {
		opts = append(opts, pixie.Scopes(se.settings.Scopes...))
	}
	nt, err := cfg.Refresh(ctx, tok, opts...)
	if err != nil {
		return nil, err
	}
	if nt.RefreshToken.Reveal() != tok.RefreshToken.Reveal() {
		// The server rotated the refresh token: the one the profile holds is
		// spent. Its successor has the grant's whole scope (RFC 6749 section
		// 6), so it becomes the profile's.
		kept := *tok
		kept.RefreshToken = nt.RefreshToken
		if _, err := st.Save(ctx, se.profile, &kept, ver); err != nil {
			return nil, fmt.Errorf("keep the rotated refresh token of %s: %w", keyLabel(se.profile), err)
		}
	}
	v := *nt
	v.RefreshToken = pixie.Secret{}
	return &v, nil
}

// exchangeVariant gets the variant's token for an audience by exchanging the
// profile's access token, renewed first when needed (RFC 8693 section 2.1).
func (se *session) exchangeVariant(ctx context.Context, cfg *pixie.Config) (*pixie.Token, error) {
	main := &session{app: se.app, key: se.profile, settings: se.settings, writer: se.writer, cfg: cfg, dpop: se.dpop}
	src, err := main.source(0)
	if err != nil {
		return nil, err
	}
	subject, err := src.Token(ctx)
	if err != nil {
		return nil, err
	}
	// The profile's own resources would widen the new token's audience: only
	// those given with --audience go along.
	opts := []pixie.Option{pixie.Audience(se.settings.Audience)}
	if se.settings.given != nil && se.settings.given("resources") {
		opts = append(opts, se.settings.resourceOptions()...)
	}
	if len(se.settings.Scopes) > 0 {
		opts = append(opts, pixie.Scopes(se.settings.Scopes...))
	}
	tok, err := cfg.TokenExchange(ctx, pixie.TokenExchangeRequest{SubjectToken: subject.AccessToken, SubjectTokenType: pixie.TokenTypeAccessToken}, opts...)
	if errors.Is(err, pixie.ErrUnsupportedGrantType) {
		return nil, fmt.Errorf("--audience on a logged-in profile exchanges its token (RFC 8693), which this server does not offer; log in under another profile with --audience %s: %w", se.settings.Audience, err)
	}
	if err != nil {
		return nil, err
	}
	tok.RefreshToken = pixie.Secret{}
	return tok, nil
}

// openGrant finds, once the session's own record is read from st, what renews
// its token: for a variant, its profile's record, which must exist; and the
// DPoP key the tokens are bound to, stored with the profile's token.
func (se *session) openGrant(ctx context.Context, st *sqlitestore.Store) error {
	grant := se.stored
	if name, ok := variantProfile(se.key); ok {
		se.profile = name
		tok, err := load(ctx, st, name)
		switch {
		case errors.Is(err, pixie.ErrNotFound):
			return se.app.notLoggedIn(name)
		case err != nil:
			return unopenable(name, err)
		}
		grant = tok
	}
	var err error
	se.dpop, err = tokenDPoPKey(grant)
	return err
}

// isVariantKey reports whether key is a variant's (see [variantKey]).
func isVariantKey(key string) bool {
	_, ok := variantProfile(key)
	return ok
}
