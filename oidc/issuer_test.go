package oidc_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/oidc"
)

const testClientID = "client-1"

// testStart is the fake clock's initial time.
var testStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// signingKey is an issuer's private key with its kid and algorithm.
type signingKey struct {
	jwk jose.JSONWebKey
}

// rsaKeys are generated once: RSA key generation is slow, above all under -race.
var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// newRSAKey returns the i-th test RSA key (0 to 2) for alg (RS* or PS*).
func newRSAKey(tb testing.TB, i int, kid string, alg jose.SignatureAlgorithm) signingKey {
	tb.Helper()
	return signingKey{jose.JSONWebKey{Key: rsaKeys()[i], KeyID: kid, Algorithm: string(alg), Use: "sig"}}
}

func newECKey(tb testing.TB, kid string, curve elliptic.Curve, alg jose.SignatureAlgorithm) signingKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return signingKey{jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(alg)}}
}

func newEdKey(tb testing.TB, kid string) signingKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return signingKey{jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.EdDSA)}}
}

func (k signingKey) alg() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(k.jwk.Algorithm) }

func (k signingKey) public() jose.JSONWebKey { return k.jwk.Public() }

// sign returns a compact JWS of claims signed with k, with k's kid and typ "JWT"
// in the header.
func (k signingKey) sign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return k.signTyped(tb, "JWT", claims)
}

// signTyped is sign with typ in the header, or no typ if it is empty.
func (k signingKey) signTyped(tb testing.TB, typ jose.ContentType, claims map[string]any) string {
	tb.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(typ)
	}
	return k.signPayload(tb, opts, payload)
}

// signPayload returns a compact JWS of payload, as is, signed with k, with the
// header opts give.
func (k signingKey) signPayload(tb testing.TB, opts *jose.SignerOptions, payload []byte) string {
	tb.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg(), Key: k.jwk}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// testIssuer is a loopback OpenID provider: it serves a JWK Set at /jwks and
// counts the requests for it.
type testIssuer struct {
	*httptest.Server
	clock *fakeclock.Clock

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	jwksStatus   int
	jwksHandler  http.HandlerFunc
	jwksRequests atomic.Int32
}

func newTestIssuer(tb testing.TB, keys ...signingKey) *testIssuer {
	tb.Helper()
	iss := &testIssuer{clock: fakeclock.New(testStart)}
	iss.publish(keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", iss.serveJWKS)
	iss.Server = httptest.NewServer(mux)
	tb.Cleanup(iss.Close)
	return iss
}

// publish replaces the served key set with the public halves of keys.
func (iss *testIssuer) publish(keys ...signingKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = iss.keys[:0]
	for _, k := range keys {
		iss.keys = append(iss.keys, k.public())
	}
}

// failJWKS makes the JWKS endpoint answer status (0 restores it).
func (iss *testIssuer) failJWKS(status int) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwksStatus = status
}

// serveJWKSWith makes h answer the JWKS requests.
func (iss *testIssuer) serveJWKSWith(h http.HandlerFunc) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwksHandler = h
}

func (iss *testIssuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.jwksRequests.Add(1)
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.jwksHandler != nil {
		iss.jwksHandler(w, r)
		return
	}
	if iss.jwksStatus != 0 {
		http.Error(w, "unavailable", iss.jwksStatus)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if err := json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: iss.keys}); err != nil {
		panic(err)
	}
}

// config is a VerifierConfig for this issuer and testClientID, on its clock.
func (iss *testIssuer) config() oidc.VerifierConfig {
	return oidc.VerifierConfig{
		ClientID: testClientID,
		Issuer:   iss.URL,
		JWKSURL:  iss.URL + "/jwks",
		Now:      iss.clock.Now,
	}
}

func (iss *testIssuer) verifier(tb testing.TB) *oidc.Verifier {
	tb.Helper()
	v, err := oidc.NewVerifier(iss.config())
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// claims returns valid ID token claims, changed by overrides: a nil value
// removes the claim.
func (iss *testIssuer) claims(overrides map[string]any) map[string]any {
	now := iss.clock.Now()
	c := map[string]any{
		"iss":   iss.URL,
		"sub":   "user-42",
		"aud":   testClientID,
		"exp":   now.Add(time.Hour).Unix(),
		"iat":   now.Unix(),
		"nonce": "n-0S6_WzA2Mj",
		"email": "ada@example.com",
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}
