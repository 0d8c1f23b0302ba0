package oidc_test

import (
	"cmp"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

func TestVerifyValidToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(tb testing.TB) signingKey
	}{
		{"RS256", func(tb testing.TB) signingKey { return newRSAKey(tb, 0, "rsa-1", jose.RS256) }},
		{"PS384", func(tb testing.TB) signingKey { return newRSAKey(tb, 0, "rsa-1", jose.PS384) }},
		{"ES256", func(tb testing.TB) signingKey { return newECKey(tb, "ec-1", elliptic.P256(), jose.ES256) }},
		{"ES384", func(tb testing.TB) signingKey { return newECKey(tb, "ec-1", elliptic.P384(), jose.ES384) }},
		{"EdDSA", func(tb testing.TB) signingKey { return newEdKey(tb, "ed-1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key(t)
			iss := newTestIssuer(t, key)
			raw := key.sign(t, iss.claims(map[string]any{"auth_time": testStart.Add(-time.Minute).Unix()}))
			tok, err := iss.verifier(t).Verify(t.Context(), raw, oidc.WithNonce("n-0S6_WzA2Mj"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tok.Subject, "user-42"; got != want {
				t.Errorf("Subject = %q, want %q", got, want)
			}
			if got, want := tok.Issuer, iss.URL; got != want {
				t.Errorf("Issuer = %q, want %q", got, want)
			}
			if got, want := tok.Audience, []string{testClientID}; !slices.Equal(got, want) {
				t.Errorf("Audience = %q, want %q", got, want)
			}
			if got, want := tok.Expiry, testStart.Add(time.Hour); !got.Equal(want) {
				t.Errorf("Expiry = %v, want %v", got, want)
			}
			if got, want := tok.IssuedAt, testStart; !got.Equal(want) {
				t.Errorf("IssuedAt = %v, want %v", got, want)
			}
			if got, want := tok.AuthTime, testStart.Add(-time.Minute); !got.Equal(want) {
				t.Errorf("AuthTime = %v, want %v", got, want)
			}
			if got, want := tok.Nonce, "n-0S6_WzA2Mj"; got != want {
				t.Errorf("Nonce = %q, want %q", got, want)
			}
			var custom struct {
				Email string `json:"email"`
			}
			if err := tok.Claims(&custom); err != nil {
				t.Fatal(err)
			}
			if got, want := custom.Email, "ada@example.com"; got != want {
				t.Errorf("email claim = %q, want %q", got, want)
			}
		})
	}
}

// TestVerifyAccepts covers tokens that are valid although they look unusual.
func TestVerifyAccepts(t *testing.T) {
	key := newRSAKey(t, 0, "k1", jose.RS256)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		opts   []oidc.VerifyOption
		cfg    func(*oidc.VerifierConfig)
		noKid  bool
		typ    jose.ContentType // "JWT" when empty
		noTyp  bool
	}{
		{name: "several audiences with azp", claims: map[string]any{"aud": []string{"api", testClientID}, "azp": testClientID}},
		{name: "azp alone", claims: map[string]any{"azp": testClientID}},
		{name: "expired within the leeway", claims: map[string]any{"exp": testStart.Add(-59 * time.Second).Unix()}},
		{name: "iat in the future within the leeway", claims: map[string]any{"iat": testStart.Add(59 * time.Second).Unix()}},
		{name: "custom leeway", claims: map[string]any{"exp": testStart.Add(-4 * time.Minute).Unix()},
			cfg: func(c *oidc.VerifierConfig) { c.Leeway = 5 * time.Minute }},
		{name: "no nonce expected", claims: map[string]any{"nonce": nil}},
		{name: "no at_hash with an access token", opts: []oidc.VerifyOption{oidc.WithAccessToken(pixie.NewSecret("at"))}},
		{name: "auth_time within max_age", claims: map[string]any{"auth_time": testStart.Add(-5 * time.Minute).Unix()},
			opts: []oidc.VerifyOption{oidc.WithMaxAge(10 * time.Minute)}},
		{name: "token without kid", noKid: true},
		{name: "typ application/jwt", typ: "application/jwt"},
		{name: "no typ", noTyp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := newTestIssuer(t, key)
			cfg := iss.config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			v, err := oidc.NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			signer := key
			if tc.noKid {
				signer.jwk.KeyID = ""
			}
			typ := cmp.Or(tc.typ, "JWT")
			if tc.noTyp {
				typ = ""
			}
			if _, err := v.Verify(t.Context(), signer.signTyped(t, typ, iss.claims(tc.claims)), tc.opts...); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	key := newRSAKey(t, 0, "k1", jose.RS256)
	impostor := newRSAKey(t, 1, "k1", jose.RS256) // same kid, another key
	otherAlg := newRSAKey(t, 0, "k1", jose.PS256) // the key, published for RS256 only
	// appended returns a token signed with key whose claims are the valid ones
	// followed by members, written as they are.
	appended := func(members string) func(*testIssuer) string {
		return func(iss *testIssuer) string {
			payload, err := json.Marshal(iss.claims(nil))
			if err != nil {
				t.Fatal(err)
			}
			return key.signPayload(t, (&jose.SignerOptions{}).WithType("JWT"), append(payload[:len(payload)-1], ","+members+"}"...))
		}
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		opts   []oidc.VerifyOption
		signer *signingKey // default key
		raw    func(iss *testIssuer) string
		want   string
	}{
		{name: "wrong iss", claims: map[string]any{"iss": "https://evil.example"}, want: `iss "https://evil.example" is not the expected issuer`},
		{name: "wrong aud", claims: map[string]any{"aud": "client-2"}, want: `aud ["client-2"] does not contain the client ID "client-1"`},
		{name: "several audiences without azp", claims: map[string]any{"aud": []string{testClientID, "client-2"}}, want: "there is no azp claim"},
		{name: "azp of another client", claims: map[string]any{"azp": "client-2"}, want: `azp "client-2" is not the client ID`},
		{name: "expired", claims: map[string]any{"exp": testStart.Add(-61 * time.Second).Unix()}, want: "expired at"},
		{name: "no exp", claims: map[string]any{"exp": nil}, want: "no exp claim"},
		{name: "iat in the future", claims: map[string]any{"iat": testStart.Add(2 * time.Minute).Unix()}, want: "is in the future"},
		{name: "no iat", claims: map[string]any{"iat": nil}, want: "no iat claim"},
		{name: "nbf in the future", claims: map[string]any{"nbf": testStart.Add(2 * time.Minute).Unix()}, want: "not valid before"},
		{name: "no sub", claims: map[string]any{"sub": nil}, want: "no sub claim"},
		{name: "nonce mismatch", opts: []oidc.VerifyOption{oidc.WithNonce("other")}, want: "nonce does not match"},
		{name: "nonce missing", claims: map[string]any{"nonce": nil}, opts: []oidc.VerifyOption{oidc.WithNonce("n-0S6_WzA2Mj")}, want: "no nonce claim"},
		{name: "at_hash mismatch", claims: map[string]any{"at_hash": "wfgvmE9VxjAudsl9lc6TqA"},
			opts: []oidc.VerifyOption{oidc.WithAccessToken(pixie.NewSecret("another-token"))}, want: "at_hash does not match"},
		{name: "auth_time beyond max_age", claims: map[string]any{"auth_time": testStart.Add(-2 * time.Hour).Unix()},
			opts: []oidc.VerifyOption{oidc.WithMaxAge(time.Hour)}, want: "older than max_age"},
		{name: "no auth_time with max_age", opts: []oidc.VerifyOption{oidc.WithMaxAge(time.Hour)}, want: "no auth_time claim"},
		{name: "claim of the wrong type", claims: map[string]any{"nonce": 5}, want: "claims:"},
		{name: "signed by another key with the same kid", signer: &impostor, want: `the signature does not verify with the issuer's RS256 key "k1"`},
		{name: "signed with an alg the key is not published for", signer: &otherAlg, want: `no PS256 key with kid "k1"`},
		{name: "alg none", raw: unsignedToken, want: `signed with alg "none", which is not accepted`},
		{name: "HS256 keyed with the public key", raw: func(iss *testIssuer) string {
			der, err := x509.MarshalPKIXPublicKey(key.public().Key)
			if err != nil {
				t.Fatal(err)
			}
			hmac := signingKey{jose.JSONWebKey{Key: der, KeyID: "k1", Algorithm: string(jose.HS256)}}
			return hmac.sign(t, iss.claims(nil))
		}, want: `signed with alg "HS256", which is not accepted`},
		{name: "JWT access token", raw: func(iss *testIssuer) string { return key.signTyped(t, "at+jwt", iss.claims(nil)) },
			want: `typ "at+jwt" marks another kind of token`},
		{name: "logout token", raw: func(iss *testIssuer) string { return key.signTyped(t, "application/logout+JWT", iss.claims(nil)) },
			want: `typ "application/logout+JWT" marks another kind of token`},
		// Read as sub "admin" by a case-insensitive decoder, such as encoding/json.
		{name: "claims differing only in case", raw: appended(`"Sub":"admin"`), want: `claims "Sub" and "sub" differ only in case`},
		// U+017F, long s, folds to s.
		{name: "claims equal under Unicode case folding", raw: appended(`"ſub":"admin"`), want: `claims "sub" and "ſub" differ only in case`},
		{name: "duplicate claim", raw: appended(`"sub":"admin"`), want: "duplicate key 'sub'"},
		{name: "critical header parameter", raw: func(iss *testIssuer) string {
			payload, err := json.Marshal(iss.claims(nil))
			if err != nil {
				t.Fatal(err)
			}
			opts := (&jose.SignerOptions{}).WithHeader("exp-policy", "strict").WithCritical("exp-policy")
			return key.signPayload(t, opts, payload)
		}, want: `critical header parameters ["exp-policy"], which pixie does not understand`},
		{name: "not a JWT", raw: func(*testIssuer) string { return "not.a.jwt" }, want: "not a signed JWT"},
		{name: "oversized", raw: func(*testIssuer) string { return strings.Repeat("a", 300<<10) }, want: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := newTestIssuer(t, key)
			signer := key
			if tc.signer != nil {
				signer = *tc.signer
			}
			raw := ""
			if tc.raw != nil {
				raw = tc.raw(iss)
			} else {
				raw = signer.sign(t, iss.claims(tc.claims))
			}
			_, err := iss.verifier(t).Verify(t.Context(), raw, tc.opts...)
			if !errors.Is(err, oidc.ErrInvalidIDToken) {
				t.Fatalf("Verify error = %v, want ErrInvalidIDToken", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify error = %q, want it to contain %q", err, tc.want)
			}
			if len(raw) < 10<<10 && strings.Contains(err.Error(), raw) {
				t.Errorf("Verify error %q contains the token", err)
			}
		})
	}
}

// unsignedToken is an "alg":"none" JWT with the issuer's valid claims.
func unsignedToken(iss *testIssuer) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, err := json.Marshal(iss.claims(nil))
	if err != nil {
		panic(err)
	}
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

func TestVerifyAtHash(t *testing.T) {
	t.Run("RS256 reference value", func(t *testing.T) {
		// The at_hash of this access token with SHA-256, a published example.
		key := newRSAKey(t, 0, "k1", jose.RS256)
		iss := newTestIssuer(t, key)
		raw := key.sign(t, iss.claims(map[string]any{"at_hash": "wfgvmE9VxjAudsl9lc6TqA"}))
		tok, err := iss.verifier(t).VerifyToken(t.Context(), &pixie.Token{
			AccessToken: pixie.NewSecret("dNZX1hEZ9wBCzNL40Upu646bdzQA"),
			IDToken:     pixie.NewSecret(raw),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tok.AccessTokenHash, "wfgvmE9VxjAudsl9lc6TqA"; got != want {
			t.Errorf("AccessTokenHash = %q, want %q", got, want)
		}
	})
	t.Run("EdDSA hashes with SHA-512", func(t *testing.T) {
		key := newEdKey(t, "ed")
		iss := newTestIssuer(t, key)
		sum := sha512.Sum512([]byte("access-token-1"))
		raw := key.sign(t, iss.claims(map[string]any{"at_hash": base64.RawURLEncoding.EncodeToString(sum[:32])}))
		if _, err := iss.verifier(t).Verify(t.Context(), raw, oidc.WithAccessToken(pixie.NewSecret("access-token-1"))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyTokenWithoutIDToken(t *testing.T) {
	iss := newTestIssuer(t, newEdKey(t, "ed"))
	_, err := iss.verifier(t).VerifyToken(t.Context(), &pixie.Token{AccessToken: pixie.NewSecret("at")})
	if err == nil || !strings.Contains(err.Error(), "no id_token") {
		t.Errorf("VerifyToken error = %v, want one saying there is no id_token", err)
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	old := newRSAKey(t, 0, "2026-01", jose.RS256)
	rotated := newRSAKey(t, 1, "2026-02", jose.RS256)
	iss := newTestIssuer(t, old)
	v := iss.verifier(t)
	verify := func(key signingKey) error {
		t.Helper()
		_, err := v.Verify(t.Context(), key.sign(t, iss.claims(nil)))
		return err
	}
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	iss.publish(old, rotated)
	if err := verify(rotated); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if got, want := iss.jwksRequests.Load(), int32(2); got != want {
		t.Errorf("%d JWKS requests, want %d", got, want)
	}
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	if got, want := iss.jwksRequests.Load(), int32(2); got != want {
		t.Errorf("%d JWKS requests after verifying with a known key, want %d", got, want)
	}
}

func TestVerifyRefetchRateLimit(t *testing.T) {
	known := newECKey(t, "known", elliptic.P256(), jose.ES256)
	iss := newTestIssuer(t, known)
	v := iss.verifier(t)
	unknown := func(kid string) error {
		t.Helper()
		k := newECKey(t, kid, elliptic.P256(), jose.ES256)
		_, err := v.Verify(t.Context(), k.sign(t, iss.claims(nil)))
		if !errors.Is(err, oidc.ErrInvalidIDToken) {
			t.Fatalf("Verify error = %v, want ErrInvalidIDToken", err)
		}
		return err
	}
	err := unknown("forged-1")
	if got, want := iss.jwksRequests.Load(), int32(2); got != want {
		t.Errorf("%d JWKS requests, want %d (the first fetch and one refetch)", got, want)
	}
	if !strings.Contains(err.Error(), `no ES256 key with kid "forged-1"`) {
		t.Errorf("error %q does not name the kid", err)
	}
	iss.clock.Advance(9 * time.Second)
	err = unknown("forged-2")
	if got, want := iss.jwksRequests.Load(), int32(2); got != want {
		t.Errorf("%d JWKS requests, want %d (refetch rate-limited)", got, want)
	}
	if !strings.Contains(err.Error(), "not fetched again") {
		t.Errorf("error %q does not say the key set was not fetched again", err)
	}
	iss.clock.Advance(time.Second)
	unknown("forged-3")
	if got, want := iss.jwksRequests.Load(), int32(3); got != want {
		t.Errorf("%d JWKS requests, want %d (after the refetch interval)", got, want)
	}
}

func TestVerifyErrorQuotesLittleOfAForgedHeader(t *testing.T) {
	iss := newTestIssuer(t, newEdKey(t, "ed"))
	payload, err := json.Marshal(iss.claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 100<<10)
	forged := func(opts *jose.SignerOptions) string { return newEdKey(t, "").signPayload(t, opts, payload) }
	enc := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct{ name, raw string }{
		{"kid", forged((&jose.SignerOptions{}).WithHeader("kid", long))},
		{"typ", forged((&jose.SignerOptions{}).WithType(jose.ContentType(long + "+jwt")))},
		{"crit", forged((&jose.SignerOptions{}).WithHeader("x", true).WithCritical("x", long))},
		{"alg", enc([]byte(`{"alg":"`+long+`"}`)) + "." + enc(payload) + ".c2ln"},
		{"alg of the wrong type", enc([]byte(`{"alg":[`+strings.Repeat("1,", 50<<10)+`1]}`)) + "." + enc(payload) + ".c2ln"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iss.verifier(t).Verify(t.Context(), tc.raw)
			if !errors.Is(err, oidc.ErrInvalidIDToken) {
				t.Fatalf("Verify error = %v, want ErrInvalidIDToken", err)
			}
			if got, max := len(err.Error()), 300; got > max {
				t.Errorf("error is %d bytes long, want at most %d", got, max)
			}
		})
	}
}

func TestVerifyKeySetCache(t *testing.T) {
	key := newEdKey(t, "ed")
	iss := newTestIssuer(t, key)
	cfg := iss.config()
	cfg.KeysTTL = 30 * time.Minute
	v, err := oidc.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance  time.Duration
		requests int32
	}{{0, 1}, {29 * time.Minute, 1}, {time.Minute, 2}, {time.Minute, 2}} {
		iss.clock.Advance(step.advance)
		if _, err := v.Verify(t.Context(), key.sign(t, iss.claims(nil))); err != nil {
			t.Fatal(err)
		}
		if got := iss.jwksRequests.Load(); got != step.requests {
			t.Errorf("at %v: %d JWKS requests, want %d", iss.clock.Now().Sub(testStart), got, step.requests)
		}
	}
}

func TestVerifyKeySetErrors(t *testing.T) {
	key := newEdKey(t, "ed")
	for _, tc := range []struct {
		name  string
		serve http.HandlerFunc
		want  string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, "unexpected HTTP 503"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "not a JWK Set"},
		{"no keys member", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"kty":"RSA"}`)) }, `no "keys" member`},
		{"only unusable keys", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"unknown"}]}`))
		}, "none of its 2 keys is a public signing key"},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", 2<<20) + `"}`))
		}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := newTestIssuer(t)
			iss.serveJWKSWith(tc.serve)
			_, err := iss.verifier(t).Verify(t.Context(), key.sign(t, iss.claims(nil)))
			if err == nil || errors.Is(err, oidc.ErrInvalidIDToken) {
				t.Fatalf("Verify error = %v, want a key set error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestVerifyKeySetUsesPublicHalvesOnly(t *testing.T) {
	key := newECKey(t, "ec", elliptic.P256(), jose.ES256)
	iss := newTestIssuer(t)
	iss.serveJWKSWith(func(w http.ResponseWriter, r *http.Request) {
		// A careless server publishing a private key, an encryption key and a
		// symmetric key next to the signing key.
		private, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk}})
		if err != nil {
			panic(err)
		}
		doc := strings.Replace(string(private), `"keys":[`, `"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"ec"},`, 1)
		w.Write([]byte(doc))
	})
	if _, err := iss.verifier(t).Verify(t.Context(), key.sign(t, iss.claims(nil))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyKeepsKeysWhileKeySetFails(t *testing.T) {
	key := newEdKey(t, "ed")
	iss := newTestIssuer(t, key)
	v := iss.verifier(t)
	verify := func(wantRequests int32) error {
		t.Helper()
		_, err := v.Verify(t.Context(), key.sign(t, iss.claims(nil)))
		if got := iss.jwksRequests.Load(); got != wantRequests {
			t.Errorf("at %v: %d JWKS requests, want %d", iss.clock.Now().Sub(testStart), got, wantRequests)
		}
		return err
	}
	if err := verify(1); err != nil {
		t.Fatal(err)
	}
	iss.failJWKS(http.StatusServiceUnavailable)
	for _, step := range []struct {
		advance  time.Duration
		requests int32
	}{
		{time.Hour, 2},                       // the keys are due to be fetched again, which fails
		{9 * time.Second, 2},                 // not asked again within the refetch interval
		{time.Second, 3},                     // asked again
		{58*time.Minute + 49*time.Second, 4}, // still failing, the keys not yet two TTLs old
	} {
		iss.clock.Advance(step.advance)
		if err := verify(step.requests); err != nil {
			t.Fatalf("at %v: Verify: %v, want the keys fetched before used", iss.clock.Now().Sub(testStart), err)
		}
	}
	iss.clock.Advance(time.Minute + time.Second)
	if err := verify(5); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("Verify with keys two TTLs old: error = %v, want the key set's HTTP 503", err)
	}
	iss.failJWKS(0)
	if err := verify(6); err != nil {
		t.Fatal(err)
	}
	iss.clock.Advance(59 * time.Minute)
	if err := verify(6); err != nil { // fresh for the TTL again
		t.Fatal(err)
	}
}

func TestVerifyRefusesKeySetRedirectToHTTP(t *testing.T) {
	key := newEdKey(t, "ed")
	plain := newTestIssuer(t, key)
	srv := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/jwks", http.StatusFound))
	t.Cleanup(srv.Close)
	cfg := plain.config()
	cfg.JWKSURL, cfg.HTTPClient = srv.URL+"/jwks", srv.Client()
	v, err := oidc.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(t.Context(), key.sign(t, plain.claims(nil)))
	if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https to http") {
		t.Errorf("Verify error = %v, want a refused redirect", err)
	}
	if got := plain.jwksRequests.Load(); got != 0 {
		t.Errorf("the http key set was fetched %d times", got)
	}
}

func TestVerifyRecoversFromKeySetFailure(t *testing.T) {
	key := newEdKey(t, "ed")
	iss := newTestIssuer(t, key)
	iss.failJWKS(http.StatusServiceUnavailable)
	v := iss.verifier(t)
	raw := key.sign(t, iss.claims(nil))
	if _, err := v.Verify(t.Context(), raw); err == nil {
		t.Fatal("Verify succeeded while the key set was unavailable")
	}
	iss.failJWKS(0)
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatalf("Verify after the key set came back: %v", err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  oidc.VerifierConfig
		want string
	}{
		{"no client ID", oidc.VerifierConfig{Issuer: "https://as.example", JWKSURL: "https://as.example/jwks"}, "no ClientID"},
		{"no issuer", oidc.VerifierConfig{ClientID: "c", JWKSURL: "https://as.example/jwks"}, "no Issuer"},
		{"no JWKS URL", oidc.VerifierConfig{ClientID: "c", Issuer: "https://as.example"}, "JWKS URL: no URL configured"},
		{"http JWKS URL", oidc.VerifierConfig{ClientID: "c", Issuer: "https://as.example", JWKSURL: "http://as.example/jwks"}, "refusing http://"},
		{"HMAC algorithm", oidc.VerifierConfig{ClientID: "c", Issuer: "https://as.example", JWKSURL: "https://as.example/jwks",
			Algorithms: []string{"RS256", "HS256"}}, `algorithm "HS256" is not accepted`},
		{"none algorithm", oidc.VerifierConfig{ClientID: "c", Issuer: "https://as.example", JWKSURL: "https://as.example/jwks",
			Algorithms: []string{"none"}}, `algorithm "none" is not accepted`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oidc.NewVerifier(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewVerifier error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNewVerifierFromMetadata(t *testing.T) {
	rsaKey := newRSAKey(t, 0, "rsa", jose.RS256)
	ecKey := newECKey(t, "ec", elliptic.P256(), jose.ES256)
	iss := newTestIssuer(t, rsaKey, ecKey)
	m := &pixie.Metadata{
		Issuer:                           iss.URL,
		JWKSURI:                          iss.URL + "/jwks",
		IDTokenSigningAlgValuesSupported: []string{"ES256", "none", "HS256"},
	}
	v, err := oidc.NewVerifierFromMetadata(m, oidc.VerifierConfig{ClientID: testClientID, Now: iss.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), ecKey.sign(t, iss.claims(nil))); err != nil {
		t.Errorf("ES256 token: %v", err)
	}
	_, err = v.Verify(t.Context(), rsaKey.sign(t, iss.claims(nil)))
	if err == nil || !strings.Contains(err.Error(), `alg "RS256", which is not accepted (accepted: ES256)`) {
		t.Errorf("RS256 token: error = %v, want a refusal of RS256", err)
	}

	for _, tc := range []struct {
		name string
		m    pixie.Metadata
		cfg  oidc.VerifierConfig
		want string
	}{
		{"only HMAC", pixie.Metadata{Issuer: iss.URL, JWKSURI: iss.URL + "/jwks", IDTokenSigningAlgValuesSupported: []string{"HS256"}},
			oidc.VerifierConfig{ClientID: testClientID}, "signs ID tokens only with"},
		{"no jwks_uri", pixie.Metadata{Issuer: iss.URL}, oidc.VerifierConfig{ClientID: testClientID}, "has no jwks_uri"},
		{"other issuer", pixie.Metadata{Issuer: iss.URL, JWKSURI: iss.URL + "/jwks"},
			oidc.VerifierConfig{ClientID: testClientID, Issuer: "https://other.example"}, "differs from the metadata's issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oidc.NewVerifierFromMetadata(&tc.m, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewVerifierFromMetadata error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("nil metadata", func(t *testing.T) {
		_, err := oidc.NewVerifierFromMetadata(nil, oidc.VerifierConfig{ClientID: testClientID})
		if err == nil || !strings.Contains(err.Error(), "no metadata") {
			t.Errorf("NewVerifierFromMetadata error = %v, want one saying there is no metadata", err)
		}
	})
}

// FuzzVerify checks that Verify never panics on any input and accepts only
// tokens signed with the issuer's key.
func FuzzVerify(f *testing.F) {
	key := newECKey(f, "ec", elliptic.P256(), jose.ES256)
	iss := newTestIssuer(f, key)
	v := iss.verifier(f)
	valid := key.sign(f, iss.claims(nil))
	f.Add(valid)
	f.Add(unsignedToken(iss))
	f.Add("e30.e30.e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.Verify(t.Context(), raw)
		if err != nil {
			return
		}
		if tok.Subject != "user-42" || tok.Issuer != iss.URL {
			t.Fatalf("accepted a token for %q from %q", tok.Subject, tok.Issuer)
		}
	})
}
