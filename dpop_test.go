package pixie_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/dpop"
)

func newDPoPKey(t *testing.T) *dpop.Key {
	t.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestDPoPClientCredentials gets a DPoP-bound token (RFC 9449) from the devserver
// and checks, by introspection, that it is bound to the key.
func TestDPoPClientCredentials(t *testing.T) {
	for _, nonce := range []bool{false, true} {
		name := "without nonce"
		if nonce {
			name = "server requires a nonce"
		}
		t.Run(name, func(t *testing.T) {
			s := devservertest.NewServer(t, func(o *devserver.Options) { o.RequireDPoPNonce = nonce })
			ctx := context.Background()
			key := newDPoPKey(t)
			cfg := s.Config(s.Confidential)
			cfg.DPoP = key
			tok, err := cfg.ClientCredentials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tok.Type(), "DPoP"; got != want {
				t.Errorf("token type = %q, want %q", got, want)
			}
			cfg.DPoP = nil // introspection takes no proof
			in, err := cfg.Introspect(ctx, tok.AccessToken, pixie.HintAccessToken)
			if err != nil {
				t.Fatal(err)
			}
			cnf, _ := in.Extra["cnf"].(map[string]any)
			if got, want := cnf["jkt"], key.Thumbprint(); got != want {
				t.Errorf("cnf.jkt = %v, want the key's thumbprint %v", got, want)
			}
		})
	}
}

// TestDPoPAuthCodeAndRefresh logs a public client in with DPoP and PAR, then
// refreshes: the code is bound to the key by dpop_jkt, and the public client's
// refresh token only works with the same key.
func TestDPoPAuthCodeAndRefresh(t *testing.T) {
	s := devservertest.NewServer(t, func(o *devserver.Options) { o.RequireDPoPNonce = true })
	ctx := context.Background()
	key := newDPoPKey(t)
	cfg := s.Config(s.Public)
	cfg.DPoP, cfg.UsePAR = key, true
	ar, err := cfg.NewAuthRequest(ctx, pixie.Scopes("openid", "offline_access"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.HandleCallback(ctx, ar, s.Authorize(t, ar.URL).Query())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type() != "DPoP" {
		t.Fatalf("token type = %q, want DPoP", tok.Type())
	}
	fresh, err := cfg.Refresh(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}

	// The bound token calls userinfo through a Transport holding the key.
	src := cfg.RefreshSource(pixie.SourceOptions{})
	if err := src.Put(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &pixie.Transport{Source: src, DPoP: key}}
	resp, err := client.Get(s.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"sub"`) {
		t.Errorf("userinfo = %d %s", resp.StatusCode, body)
	}

	// Without the key, the Transport refuses to send a bound token.
	if _, err := (&http.Client{Transport: &pixie.Transport{Source: src}}).Get(s.URL + "/userinfo"); err == nil || !strings.Contains(err.Error(), "DPoP") {
		t.Errorf("a DPoP-bound token without Transport.DPoP: %v, want an error saying so", err)
	}

	// Another key cannot refresh the public client's bound refresh token.
	cfg.DPoP = newDPoPKey(t)
	if _, err := cfg.Refresh(ctx, fresh); err == nil {
		t.Error("a refresh token bound to one key was refreshed with another")
	}
}

// TestTransportDPoPNonce checks that a resource server's use_dpop_nonce
// challenge (RFC 9449 section 9) is answered by one replay with its nonce.
func TestTransportDPoPNonce(t *testing.T) {
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "DPoP ") || r.Header.Get("DPoP") == "" {
			http.Error(w, "no DPoP", http.StatusBadRequest)
			return
		}
		if proofNonce(r.Header.Get("DPoP")) != "n-1" {
			w.Header().Set("DPoP-Nonce", "n-1")
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="nonce required"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer api.Close()
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(func(ctx context.Context, cur *pixie.Token) (*pixie.Token, error) {
		tok, err := is.fetch(ctx, cur)
		if err == nil {
			tok.TokenType = "DPoP"
		}
		return tok, err
	}, pixie.SourceOptions{Now: clk.Now})
	client := &http.Client{Transport: &pixie.Transport{Source: src, DPoP: newDPoPKey(t)}}
	resp, err := client.Post(api.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status = %d, want 200 after the nonce replay", resp.StatusCode)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("API requests = %d, want 2", got)
	}
	if got := is.calls.Load(); got != 1 {
		t.Errorf("token fetches = %d, want 1 (a nonce challenge is not a reason to renew)", got)
	}
}

// proofNonce returns the nonce claim of a DPoP proof, without verifying it.
func proofNonce(proof string) string {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Nonce
}
