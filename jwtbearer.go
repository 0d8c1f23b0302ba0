package pixie

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie/internal/wire"
)

// JWTBearer obtains a token with a JWT as the authorization grant (RFC 7523
// section 2.1), as service accounts do: the assertion is signed by a party the
// server trusts, typically with [NewAssertion]. Client authentication is sent
// when the Config has credentials; RFC 7523 section 3.1 leaves it optional.
func (c *Config) JWTBearer(ctx context.Context, assertion Secret, opts ...Option) (*Token, error) {
	if assertion.IsZero() {
		return nil, errors.New("pixie: JWT bearer grant needs an assertion")
	}
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	form := c.grantForm("urn:ietf:params:oauth:grant-type:jwt-bearer", p)
	form.Set("assertion", assertion.Reveal())
	return c.token(ctx, form, p.scopes, false)
}

// AssertionClaims are the claims of a JWT authorization grant (RFC 7523 section 3).
type AssertionClaims struct {
	// Issuer (iss) is who signed the assertion, Subject (sub) the principal the
	// token is for, Audience (aud) the authorization server: its issuer
	// identifier or token endpoint URL.
	Issuer, Subject, Audience string
	// Lifetime sets exp after now; 0 means 5 minutes.
	Lifetime time.Duration
	// Extra claims, such as "scope" for servers that take it in the assertion.
	Extra map[string]any
}

// NewAssertion signs a JWT authorization grant for [Config.JWTBearer] with key
// (RSA: RS256; ECDSA: ES256/384/512 by curve; Ed25519: EdDSA), adding a unique jti
// and iat/exp from now. keyID, when set, is the "kid" header.
func NewAssertion(key crypto.Signer, keyID string, claims AssertionClaims, now time.Time) (Secret, error) {
	if claims.Issuer == "" || claims.Subject == "" || claims.Audience == "" {
		return Secret{}, errors.New("pixie: an assertion needs iss, sub and aud (RFC 7523 section 3)")
	}
	alg, err := wire.SigningAlg(key)
	if err != nil {
		return Secret{}, fmt.Errorf("pixie: assertion: %w", err)
	}
	lifetime := claims.Lifetime
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	registered := wire.AssertionClaims(claims.Issuer, claims.Subject, claims.Audience, now, lifetime)
	all := []any{registered}
	if len(claims.Extra) > 0 {
		all = append(all, claims.Extra)
	}
	s, err := wire.SignJWT(jose.SigningKey{Algorithm: alg, Key: key}, keyID, all...)
	if err != nil {
		return Secret{}, fmt.Errorf("pixie: assertion: %w", err)
	}
	return NewSecret(s), nil
}
