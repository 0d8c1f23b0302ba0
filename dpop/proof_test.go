package dpop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie/dpop"
)

// signers returns one private key of every kind NewKeyFrom accepts, with the
// algorithm it must sign with.
func signers(tb testing.TB) map[jose.SignatureAlgorithm]crypto.Signer {
	tb.Helper()
	out := make(map[jose.SignatureAlgorithm]crypto.Signer)
	for alg, curve := range map[jose.SignatureAlgorithm]elliptic.Curve{
		jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()} {
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		out[alg] = k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	out[jose.EdDSA] = ed
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	out[jose.RS256] = rk
	return out
}

func TestProofHeaderAndClaims(t *testing.T) {
	iat := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for alg, signer := range signers(t) {
		t.Run(string(alg), func(t *testing.T) {
			k, err := dpop.NewKeyFrom(signer)
			if err != nil {
				t.Fatal(err)
			}
			k.Now = func() time.Time { return iat }
			if got, want := k.Algorithm(), string(alg); got != want {
				t.Errorf("Algorithm() = %s, want %s", got, want)
			}
			p := mustProof(t, k, "POST", "https://Server.Example.com/token?client_id=x#frag", "")
			if got, want := p.header.Algorithm, string(alg); got != want {
				t.Errorf("alg = %s, want %s", got, want)
			}
			if got, want := p.rawHeader["typ"], "dpop+jwt"; got != want {
				t.Errorf("typ = %v, want %s", got, want)
			}
			if got, want := thumbprint(t, p.header.JSONWebKey), k.Thumbprint(); got != want {
				t.Errorf("jwk thumbprint = %s, want Thumbprint() %s", got, want)
			}
			jwk, _ := p.rawHeader["jwk"].(map[string]any)
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := jwk[private]; ok {
					t.Errorf("jwk header has private member %q", private)
				}
			}
			if _, ok := p.rawHeader["kid"]; ok {
				t.Error("header has a kid besides the jwk")
			}
			if got, want := p.claims["htm"], "POST"; got != want {
				t.Errorf("htm = %v, want %s", got, want)
			}
			if got, want := p.claims["htu"], "https://Server.Example.com/token"; got != want {
				t.Errorf("htu = %v, want %s", got, want)
			}
			if got, want := p.claims["iat"], float64(iat.Unix()); got != want {
				t.Errorf("iat = %v, want %v", got, want)
			}
			if jti, _ := p.claims["jti"].(string); len(jti) < 22 {
				t.Errorf("jti = %q, want at least 128 bits of randomness", jti)
			}
			for _, absent := range []string{"ath", "nonce"} {
				if v, ok := p.claims[absent]; ok {
					t.Errorf("%s = %v, want none", absent, v)
				}
			}
		})
	}
}

func TestProofJTIUnique(t *testing.T) {
	k := newKey(t)
	seen := make(map[any]bool)
	for range 200 {
		jti := mustProof(t, k, "GET", "https://rs.example/", "").claims["jti"]
		if seen[jti] {
			t.Fatalf("jti %v repeated", jti)
		}
		seen[jti] = true
	}
}

func TestProofHTU(t *testing.T) {
	k := newKey(t)
	for _, tc := range []struct{ url, want string }{
		{"https://as.example/token", "https://as.example/token"},
		{"https://as.example/token?a=1&b=2", "https://as.example/token"},
		{"https://as.example/token#section", "https://as.example/token"},
		{"https://as.example/token?a=1#section", "https://as.example/token"},
		{"https://as.example", "https://as.example/"},
		{"https://as.example?x=1", "https://as.example/"},
		{"HTTPS://as.example:8443/a%2Fb/c", "https://as.example:8443/a%2Fb/c"},
		{"https://user:pass@as.example/token", "https://as.example/token"},
		{"http://[::1]:8080/token", "http://[::1]:8080/token"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			if got := mustProof(t, k, "GET", tc.url, "").claims["htu"]; got != tc.want {
				t.Errorf("htu = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestProofATH(t *testing.T) {
	k := newKey(t)
	// RFC 9449 section 7.1: the example access token and its ath.
	p := mustProof(t, k, "GET", "https://resource.example.org/protectedresource", "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
	if got, want := p.claims["ath"], "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"; got != want {
		t.Errorf("ath = %v, want %s", got, want)
	}
}

func TestProofErrors(t *testing.T) {
	const token = "secret-access-token-value"
	k := newKey(t)
	for _, tc := range []struct{ name, method, url, want string }{
		{"empty method", "", "https://rs.example/", "not an HTTP method"},
		{"method with space", "GE T", "https://rs.example/", "not an HTTP method"},
		{"relative URL", "GET", "/api?key=hidden-query", "absolute http or https"},
		{"other scheme", "GET", "ftp://rs.example/file?key=hidden-query", "absolute http or https"},
		{"no host", "GET", "https:///path?key=hidden-query", "absolute http or https"},
		{"malformed", "GET", "https://rs.example/%zz?key=hidden-query", "does not parse"},
		{"control character", "GET", "https://rs.example/\x7f?key=hidden-query", "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proof, err := k.Proof(tc.method, tc.url, token)
			if err == nil {
				t.Fatalf("Proof = %q, want an error", proof)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			for _, secret := range []string{token, "hidden-query"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q reveals %q", msg, secret)
				}
			}
		})
	}
}

func TestZeroKey(t *testing.T) {
	var k dpop.Key
	if _, err := k.Proof("GET", "https://rs.example/", ""); err == nil {
		t.Error("the zero Key made a proof")
	}
	if _, err := k.MarshalPrivateJWK(); err == nil {
		t.Error("the zero Key marshaled a private key")
	}
	k.SetNonce("https://rs.example/", "n")
	if got := k.Thumbprint(); got != "" {
		t.Errorf("Thumbprint() = %q, want empty", got)
	}
	if got, want := fmt.Sprint(k), "dpop.Key{}"; got != want {
		t.Errorf("Sprint = %q, want %q", got, want)
	}
}

func TestNonce(t *testing.T) {
	k := newKey(t)
	nonce := func(url string) any {
		t.Helper()
		return mustProof(t, k, "POST", url, "").claims["nonce"]
	}
	k.SetNonce("https://as.example/token", "as-1")
	k.SetNonce("https://rs.example:8443/api?x=1", "rs-1")
	for _, tc := range []struct {
		url  string
		want any
	}{
		{"https://as.example/token", "as-1"},
		{"https://AS.Example:443/other/path?q=1", "as-1"},
		{"http://as.example/token", nil},
		{"https://as.example:8443/token", nil},
		{"https://rs.example:8443/", "rs-1"},
		{"https://rs.example/", nil},
		{"https://other.example/", nil},
	} {
		if got := nonce(tc.url); got != tc.want {
			t.Errorf("nonce for %s = %v, want %v", tc.url, got, tc.want)
		}
	}

	t.Run("update replaces", func(t *testing.T) {
		k.SetNonce("https://as.example/", "as-2")
		if got, want := nonce("https://as.example/token"), "as-2"; got != want {
			t.Errorf("nonce = %v, want %s", got, want)
		}
		if got, want := nonce("https://rs.example:8443/"), "rs-1"; got != want {
			t.Errorf("other origin's nonce = %v, want %s", got, want)
		}
	})
	t.Run("empty and bad URLs ignored", func(t *testing.T) {
		k.SetNonce("https://as.example/", "")
		k.SetNonce("not a url", "x")
		if got, want := nonce("https://as.example/token"), "as-2"; got != want {
			t.Errorf("nonce = %v, want %s", got, want)
		}
	})
	t.Run("many origins", func(t *testing.T) {
		// A Key remembers a bounded number of origins; the newest is never the
		// one forgotten.
		for i := range 300 {
			url := fmt.Sprintf("https://host%d.example/", i)
			k.SetNonce(url, fmt.Sprint("n", i))
			if got, want := nonce(url), fmt.Sprint("n", i); got != want {
				t.Fatalf("nonce for %s = %v, want %s", url, got, want)
			}
		}
	})
	t.Run("default ports", func(t *testing.T) {
		k.SetNonce("http://plain.example:80/a", "plain")
		if got, want := nonce("http://PLAIN.example/b"), "plain"; got != want {
			t.Errorf("nonce = %v, want %s", got, want)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	k := newKey(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			url := fmt.Sprintf("https://rs%d.example/api", i%3)
			for j := range 20 {
				k.SetNonce(url, fmt.Sprintf("n-%d-%d", i, j))
				if _, err := k.Proof("GET", url, "token"); err != nil {
					t.Error(err)
					return
				}
				_ = k.Thumbprint()
			}
		})
	}
	wg.Wait()
}
