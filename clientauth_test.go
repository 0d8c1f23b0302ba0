package pixie_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// signingKeys returns one key of each kind pixie signs with, and its algorithm.
func signingKeys(tb testing.TB) map[jose.SignatureAlgorithm]crypto.Signer {
	tb.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return map[jose.SignatureAlgorithm]crypto.Signer{jose.RS256: rsaKey, jose.ES256: ecKey, jose.EdDSA: edKey}
}

// verifyJWT checks the signature of a compact JWT made with alg and returns its
// registered claims, its other claims and its header.
func verifyJWT(tb testing.TB, token string, alg jose.SignatureAlgorithm, key any) (jwt.Claims, map[string]any, jose.Header) {
	tb.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		tb.Fatalf("parsing the JWT: %v", err)
	}
	var claims jwt.Claims
	var all map[string]any
	if err := parsed.Claims(key, &claims, &all); err != nil {
		tb.Fatalf("verifying the JWT: %v", err)
	}
	return claims, all, parsed.Headers[0]
}

func TestClientSecretBasic(t *testing.T) {
	const id, secret = "client:id%+ é", "p@ss:w%rd+ ü/?=&"
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	c.ClientID, c.ClientSecret, c.AuthMethod = id, pixie.NewSecret(secret), pixie.ClientSecretBasic
	if _, err := c.ClientCredentials(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := srv.only(t, "/token")
	gotID, gotSecret := basicCredentials(t, req.Header)
	if gotID != id || gotSecret != secret {
		t.Errorf("server decoded %q, %q; want %q, %q", gotID, gotSecret, id, secret)
	}
	checkAbsent(t, req.Form, "client_id", "client_secret", "client_assertion")
}

func TestClientSecretPostAndPublic(t *testing.T) {
	tests := []struct {
		name       string
		method     pixie.AuthMethod
		secret     string
		wantSecret bool
	}{
		{"client_secret_post", pixie.ClientSecretPost, testClientSecret, true},
		{"none", pixie.AuthNone, "", false},
		{"public client chosen automatically", pixie.AuthAuto, "", false},
		{"tls_client_auth", pixie.TLSClientAuth, testClientSecret, false},
		{"self_signed_tls_client_auth", pixie.SelfSignedTLSClientAuth, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, replyToken)
			c := testConfig(srv)
			c.AuthMethod, c.ClientSecret = tt.method, pixie.NewSecret(tt.secret)
			if _, err := c.ClientCredentials(context.Background()); err != nil {
				t.Fatal(err)
			}
			req := srv.only(t, "/token")
			checkForm(t, req.Form, map[string]string{"client_id": testClientID})
			if tt.wantSecret {
				checkForm(t, req.Form, map[string]string{"client_secret": tt.secret})
			} else {
				checkAbsent(t, req.Form, "client_secret")
			}
			checkAbsent(t, req.Form, "client_assertion", "client_assertion_type")
			if got := req.Header.Get("Authorization"); got != "" {
				t.Errorf("Authorization = %q, want none", got)
			}
		})
	}
}

func TestClientSecretJWT(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-and-more"
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	c.AuthMethod, c.ClientSecret = pixie.ClientSecretJWT, pixie.NewSecret(secret)
	for range 2 {
		if _, err := c.ClientCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	checkAssertions(t, srv, jose.HS256, []byte(secret), srv.URL, "")
	for _, req := range srv.requests("/token") {
		if strings.Contains(req.Form.Encode(), secret) {
			t.Error("the request carries the secret itself")
		}
	}

	t.Run("short secret refused", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		c := testConfig(srv)
		c.AuthMethod, c.ClientSecret = pixie.ClientSecretJWT, pixie.NewSecret("31-bytes-is-one-byte-too-short!")
		_, err := c.ClientCredentials(context.Background())
		if err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Errorf("err = %v, want one asking for 32 bytes", err)
		}
		checkNoSecrets(t, err, "31-bytes-is-one-byte-too-short!")
		if got := len(srv.requests("/token")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
}

func TestPrivateKeyJWT(t *testing.T) {
	for alg, key := range signingKeys(t) {
		t.Run(string(alg), func(t *testing.T) {
			for _, aud := range []string{"issuer", "token URL"} {
				t.Run("audience "+aud, func(t *testing.T) {
					srv := newAuthServer(t, replyToken)
					c := testConfig(srv)
					c.ClientSecret = pixie.Secret{}
					c.ClientKey, c.ClientKeyID = key, "key-2026"
					c.Endpoint.AuthMethods = []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.PrivateKeyJWT}
					wantAud := srv.URL
					if aud == "token URL" {
						c.Endpoint.Issuer = ""
						wantAud = c.Endpoint.TokenURL
					}
					for range 2 {
						if _, err := c.ClientCredentials(context.Background()); err != nil {
							t.Fatal(err)
						}
					}
					checkAssertions(t, srv, alg, key.Public(), wantAud, "key-2026")
				})
			}
		})
	}
	t.Run("bad keys", func(t *testing.T) {
		for name, key := range weakKeys(t) {
			t.Run(name, func(t *testing.T) {
				srv := newAuthServer(t, replyToken)
				c := testConfig(srv)
				c.AuthMethod, c.ClientKey = pixie.PrivateKeyJWT, key
				if _, err := c.ClientCredentials(context.Background()); err == nil {
					t.Error("err = nil, want one")
				}
				if got := len(srv.requests("/token")); got != 0 {
					t.Errorf("server received %d requests, want 0", got)
				}
			})
		}
	})
}

// weakKeys returns keys pixie must refuse to sign with: RSA under 2048 bits and
// an ECDSA curve JWS does not name.
func weakKeys(tb testing.TB) map[string]crypto.Signer {
	tb.Helper()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		tb.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]crypto.Signer{"RSA 1024": small, "P-224": p224}
}

// checkAssertions verifies the client assertion of every token request srv
// received: RFC 7523 section 3's claims, the signature, the kid, and a jti that
// no other request repeats.
func checkAssertions(tb testing.TB, srv *authServer, alg jose.SignatureAlgorithm, key any, wantAud, wantKID string) {
	tb.Helper()
	reqs := srv.requests("/token")
	if len(reqs) == 0 {
		tb.Fatal("no token requests")
	}
	jtis := map[string]bool{}
	for _, req := range reqs {
		checkForm(tb, req.Form, map[string]string{"client_id": testClientID, "client_assertion_type": assertionType})
		checkAbsent(tb, req.Form, "client_secret")
		if got := req.Header.Get("Authorization"); got != "" {
			tb.Errorf("Authorization = %q, want none", got)
		}
		claims, _, header := verifyJWT(tb, req.Form.Get("client_assertion"), alg, key)
		if claims.Issuer != testClientID || claims.Subject != testClientID {
			tb.Errorf("iss, sub = %q, %q; want the client ID %q", claims.Issuer, claims.Subject, testClientID)
		}
		if got := []string(claims.Audience); len(got) != 1 || got[0] != wantAud {
			tb.Errorf("aud = %q, want [%q]", got, wantAud)
		}
		if claims.ID == "" || jtis[claims.ID] {
			tb.Errorf("jti %q is empty or repeated", claims.ID)
		}
		jtis[claims.ID] = true
		if claims.IssuedAt == nil || claims.Expiry == nil {
			tb.Fatalf("iat or exp missing: %+v", claims)
		}
		iat, exp := claims.IssuedAt.Time(), claims.Expiry.Time()
		if !exp.After(time.Now()) || exp.After(iat.Add(2*time.Minute)) {
			tb.Errorf("iat %v, exp %v: want exp in the future and within 2 minutes of iat", iat, exp)
		}
		if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: testClientID, AnyAudience: jwt.Audience{wantAud}}, 0); err != nil {
			tb.Errorf("claims do not validate: %v", err)
		}
		if header.KeyID != wantKID {
			tb.Errorf("kid = %q, want %q", header.KeyID, wantKID)
		}
	}
}

func TestEffectiveAuthMethod(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := pixie.NewSecret(testClientSecret)
	tests := []struct {
		name      string
		method    pixie.AuthMethod
		secret    pixie.Secret
		key       crypto.Signer
		supported []pixie.AuthMethod
		want      pixie.AuthMethod
		wantErr   string
	}{
		{name: "server lists nothing", secret: secret, want: pixie.ClientSecretBasic},
		{name: "server lists nothing, key only", key: key, want: pixie.PrivateKeyJWT},
		{name: "server lists nothing, key and secret", secret: secret, key: key, want: pixie.ClientSecretBasic},
		{name: "server lists only post", secret: secret, supported: []pixie.AuthMethod{pixie.ClientSecretPost}, want: pixie.ClientSecretPost},
		{name: "basic preferred over post", secret: secret, supported: []pixie.AuthMethod{pixie.ClientSecretPost, pixie.ClientSecretBasic}, want: pixie.ClientSecretBasic},
		{name: "private_key_jwt with a key", secret: secret, key: key,
			supported: []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.PrivateKeyJWT}, want: pixie.PrivateKeyJWT},
		{name: "client_secret_jwt only", secret: secret, supported: []pixie.AuthMethod{pixie.ClientSecretJWT}, want: pixie.ClientSecretJWT},
		{name: "public client", want: pixie.AuthNone},
		{name: "public client, server lists none", supported: []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.AuthNone}, want: pixie.AuthNone},
		{name: "explicit post", method: pixie.ClientSecretPost, secret: secret, want: pixie.ClientSecretPost},
		{name: "explicit method overrides the server's list", method: pixie.ClientSecretPost, secret: secret,
			supported: []pixie.AuthMethod{pixie.ClientSecretBasic}, want: pixie.ClientSecretPost},
		{name: "explicit tls_client_auth", method: pixie.TLSClientAuth, want: pixie.TLSClientAuth},
		{name: "explicit basic without a secret", method: pixie.ClientSecretBasic, wantErr: "ClientSecret"},
		{name: "explicit client_secret_jwt without a secret", method: pixie.ClientSecretJWT, key: key, wantErr: "ClientSecret"},
		{name: "explicit private_key_jwt without a key", method: pixie.PrivateKeyJWT, secret: secret, wantErr: "ClientKey"},
		{name: "unknown method", method: "client_secret_magic", secret: secret, wantErr: "client_secret_magic"},
		{name: "nothing fits", secret: secret, supported: []pixie.AuthMethod{pixie.PrivateKeyJWT, pixie.TLSClientAuth},
			wantErr: "[private_key_jwt tls_client_auth]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &pixie.Config{ClientID: testClientID, ClientSecret: tt.secret, ClientKey: tt.key, AuthMethod: tt.method,
				Endpoint: pixie.Endpoint{AuthMethods: tt.supported}}
			got, err := c.EffectiveAuthMethod()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("EffectiveAuthMethod() = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if err != nil {
					checkNoSecrets(t, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("EffectiveAuthMethod() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestInvalidClientNotRetriedWithAnotherMethod checks that a rejected client
// authentication is reported, not retried in another style.
func TestInvalidClientNotRetriedWithAnotherMethod(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		replyJSON(w, http.StatusUnauthorized, `{"error":"invalid_client"}`)
	})
	c := testConfig(srv)
	c.Endpoint.AuthMethods = []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.ClientSecretPost}
	_, err := c.Exchange(context.Background(), &pixie.AuthRequest{Verifier: pixie.NewVerifier()}, "the-code")
	checkNoSecrets(t, err, "the-code")
	reqs := srv.requests("/token")
	if got, want := len(reqs), 1; got != want {
		t.Fatalf("server received %d requests, want %d", got, want)
	}
	checkAbsent(t, reqs[0].Form, "client_secret")
}

// TestConcurrentRequests runs grants on one Config from several goroutines, as
// its doc allows; under -race this checks that requests share no state, and
// every assertion still gets its own jti.
func TestConcurrentRequests(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.ClientSecret, c.ClientKey = pixie.Secret{}, ecKey
	c.Endpoint.Quirks.Header = http.Header{"User-Agent": {"pixie-test"}}
	c.Scopes = []string{"read"}
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := c.ClientCredentials(context.Background(), pixie.Resource("https://api.example.com/"))
			errs <- err
		}()
	}
	for range 16 {
		if err := receive(t, errs, "a token request"); err != nil {
			t.Error(err)
		}
	}
	checkAssertions(t, srv, jose.ES256, ecKey.Public(), srv.URL, "")
	if got, want := len(srv.requests("/token")), 16; got != want {
		t.Errorf("server received %d requests, want %d", got, want)
	}
}
