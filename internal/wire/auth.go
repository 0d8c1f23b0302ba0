package wire

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client authentication method names (RFC 7591 section 2, RFC 8705 section 2).
const (
	MethodBasic          = "client_secret_basic"
	MethodPost           = "client_secret_post"
	MethodSecretJWT      = "client_secret_jwt"
	MethodPrivateKeyJWT  = "private_key_jwt"
	MethodTLS            = "tls_client_auth"
	MethodSelfSignedTLS  = "self_signed_tls_client_auth"
	MethodNone           = "none"
	assertionTypeJWT     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	assertionLifetime    = time.Minute
	assertionClockOffset = 5 * time.Second
)

// Auth is how a client authenticates one request.
type Auth struct {
	// Method is one of the Method* constants.
	Method string
	// ClientID is the client identifier.
	ClientID string
	// Secret is the client secret for basic, post and client_secret_jwt.
	Secret string
	// Key signs private_key_jwt assertions.
	Key crypto.Signer
	// KeyID is the assertion's "kid" header, when set.
	KeyID string
	// Audience is the assertion's "aud": the issuer identifier when known (RFC
	// 7523bis), otherwise the endpoint URL.
	Audience string
}

// apply adds the client's credentials to a request about to be sent: a header for
// client_secret_basic, form members for the others. A JWT assertion is made anew
// for every attempt, so each carries a fresh jti.
func (a *Auth) apply(h http.Header, form url.Values, now time.Time) error {
	if a.ClientID == "" {
		return errors.New("no client ID configured")
	}
	switch a.Method {
	case MethodBasic:
		if a.Secret == "" {
			return errors.New("client_secret_basic needs a client secret")
		}
		// RFC 6749 section 2.3.1: the id and secret are form-encoded before they
		// are joined and base64-encoded.
		cred := url.QueryEscape(a.ClientID) + ":" + url.QueryEscape(a.Secret)
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	case MethodPost:
		if a.Secret == "" {
			return errors.New("client_secret_post needs a client secret")
		}
		form.Set("client_id", a.ClientID)
		form.Set("client_secret", a.Secret)
	case MethodSecretJWT, MethodPrivateKeyJWT:
		assertion, err := a.assertion(now)
		if err != nil {
			return err
		}
		form.Set("client_id", a.ClientID)
		form.Set("client_assertion_type", assertionTypeJWT)
		form.Set("client_assertion", assertion)
	case MethodNone, MethodTLS, MethodSelfSignedTLS:
		// RFC 6749 section 2.1 (public clients) and RFC 8705 section 2: the
		// body names the client; mTLS proves it in the TLS handshake.
		form.Set("client_id", a.ClientID)
	default:
		return fmt.Errorf("unknown client authentication method %q", a.Method)
	}
	return nil
}

// assertion makes a client authentication JWT (RFC 7523 section 3, OpenID Connect
// Core section 9): iss and sub are the client id, aud the server, a unique jti, and
// a short lifetime.
func (a *Auth) assertion(now time.Time) (string, error) {
	if a.Audience == "" {
		return "", errors.New("client assertion needs an audience (issuer or token endpoint URL)")
	}
	var key jose.SigningKey
	switch a.Method {
	case MethodSecretJWT:
		if a.Secret == "" {
			return "", errors.New("client_secret_jwt needs a client secret")
		}
		if len(a.Secret) < 32 {
			// RFC 7518 section 3.2: an HS256 key must be at least 256 bits.
			return "", errors.New("client_secret_jwt needs a client secret of at least 32 bytes (RFC 7518 section 3.2)")
		}
		key = jose.SigningKey{Algorithm: jose.HS256, Key: []byte(a.Secret)}
	default:
		alg, err := SigningAlg(a.Key)
		if err != nil {
			return "", fmt.Errorf("private_key_jwt: %w", err)
		}
		key = jose.SigningKey{Algorithm: alg, Key: a.Key}
	}
	s, err := SignJWT(key, a.KeyID, AssertionClaims(a.ClientID, a.ClientID, a.Audience, now, assertionLifetime))
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	return s, nil
}

// AssertionClaims returns the registered claims of a JWT assertion (RFC 7523
// section 3): iss, sub, one aud, a unique jti, iat and exp.
func AssertionClaims(iss, sub, aud string, now time.Time, lifetime time.Duration) jwt.Claims {
	return jwt.Claims{
		Issuer:   iss,
		Subject:  sub,
		Audience: jwt.Audience{aud},
		ID:       RandomString(16),
		// Backdate iat a little so a server whose clock runs slightly behind
		// does not see an assertion from the future.
		IssuedAt: jwt.NewNumericDate(now.Add(-assertionClockOffset)),
		Expiry:   jwt.NewNumericDate(now.Add(lifetime)),
	}
}

// SignJWT signs the merged claims objects as a compact JWT with typ "JWT" and,
// when keyID is set, a kid header.
func SignJWT(key jose.SigningKey, keyID string, claims ...any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if keyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), keyID)
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		return "", err
	}
	b := jwt.Signed(signer)
	for _, c := range claims {
		b = b.Claims(c)
	}
	return b.Serialize()
}

// MinRSABits is the smallest RSA modulus pixie signs with (RFC 7518 section 3.3).
const MinRSABits = 2048

// SigningAlg returns the JWS algorithm (RFC 7518 section 3.1) for a private key:
// RS256 for RSA of at least MinRSABits, ES256, ES384 or ES512 by the ECDSA curve,
// EdDSA for Ed25519; otherwise an error naming what is wrong with the key.
func SigningAlg(k crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k == nil || k.Curve == nil {
			return "", errors.New("the ECDSA private key is nil")
		}
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("ECDSA curve %s is not supported; use P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("an Ed25519 private key must be %d bytes, not %d", ed25519.PrivateKeySize, len(k))
		}
		return jose.EdDSA, nil
	case *ed25519.PrivateKey:
		if k == nil {
			return "", errors.New("the Ed25519 private key is nil")
		}
		return SigningAlg(*k)
	case *rsa.PrivateKey:
		if k == nil || k.N == nil {
			return "", errors.New("the RSA private key is nil")
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return "", fmt.Errorf("the RSA key has %d bits; at least %d are needed", bits, MinRSABits)
		}
		return jose.RS256, nil
	case nil:
		return "", errors.New("the private key is nil: no signing key configured")
	}
	return "", fmt.Errorf("unsupported private key type %T; use *ecdsa.PrivateKey (P-256, P-384, P-521), ed25519.PrivateKey or *rsa.PrivateKey (2048 bits or more)", k)
}

// RandomString returns n random bytes from crypto/rand, base64url-encoded without
// padding. crypto/rand.Read never returns an error (it cannot fail short of the
// process aborting), so neither does RandomString.
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
