package pixie

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/pixieauth/pixie/internal/wire"
)

// NewVerifier returns a new PKCE code verifier: 32 bytes from crypto/rand,
// base64url-encoded to 43 characters, the length RFC 7636 section 4.1 recommends.
func NewVerifier() Secret {
	return NewSecret(wire.RandomString(32))
}

// S256Challenge returns the S256 code challenge for a verifier:
// BASE64URL(SHA256(ASCII(code_verifier))) (RFC 7636 section 4.2).
func S256Challenge(verifier Secret) string {
	sum := sha256.Sum256([]byte(verifier.Reveal()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
