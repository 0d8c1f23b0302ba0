package dpop_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pixieauth/pixie/dpop"
)

// parsedProof is a DPoP proof whose signature verified with its own jwk header.
type parsedProof struct {
	header jose.Header
	// rawHeader is the decoded protected header, to check members go-jose
	// does not expose.
	rawHeader map[string]any
	claims    map[string]any
}

// parseProof parses proof, checks that it is a JWS signed with its embedded
// public jwk, and returns its header and claims.
func parseProof(tb testing.TB, proof string) parsedProof {
	tb.Helper()
	tok, err := jwt.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.RS256})
	if err != nil {
		tb.Fatalf("parsing the proof: %v", err)
	}
	if got, want := len(tok.Headers), 1; got != want {
		tb.Fatalf("proof has %d signatures, want %d", got, want)
	}
	h := tok.Headers[0]
	if h.JSONWebKey == nil {
		tb.Fatal("proof has no jwk header")
	}
	if !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		tb.Fatal("proof's jwk header is not a valid public key")
	}
	var p parsedProof
	p.header = h
	if err := tok.Claims(h.JSONWebKey.Key, &p.claims); err != nil {
		tb.Fatalf("verifying the proof with its jwk: %v", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(proof, ".")[0])
	if err != nil {
		tb.Fatalf("decoding the protected header: %v", err)
	}
	if err := json.Unmarshal(raw, &p.rawHeader); err != nil {
		tb.Fatalf("decoding the protected header: %v", err)
	}
	return p
}

// thumbprint returns the base64url RFC 7638 SHA-256 thumbprint of jwk.
func thumbprint(tb testing.TB, jwk *jose.JSONWebKey) string {
	tb.Helper()
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		tb.Fatalf("thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// newKey returns a fresh ES256 key or fails the test.
func newKey(tb testing.TB) *dpop.Key {
	tb.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		tb.Fatalf("NewKey: %v", err)
	}
	return k
}

// mustProof returns k's proof or fails the test.
func mustProof(tb testing.TB, k *dpop.Key, method, url, accessToken string) parsedProof {
	tb.Helper()
	proof, err := k.Proof(method, url, accessToken)
	if err != nil {
		tb.Fatalf("Proof(%s, %s): %v", method, url, err)
	}
	return parseProof(tb, proof)
}

// loadKey restores the Key in testdata/name or fails the test.
func loadKey(tb testing.TB, name string) *dpop.Key {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := dpop.UnmarshalPrivateJWK(b)
	if err != nil {
		tb.Fatalf("UnmarshalPrivateJWK(%s): %v", name, err)
	}
	return k
}
