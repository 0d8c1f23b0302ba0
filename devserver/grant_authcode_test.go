package devserver_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestAuthorizationCode(t *testing.T) {
	clk := newClock()
	srv := devservertest.NewServer(t, withClock(clk))
	exchange := func(t *testing.T, code, verifier string, change url.Values) *response {
		t.Helper()
		f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {devservertest.RedirectURL}}
		for k, v := range change {
			if v == nil {
				f.Del(k)
			} else {
				f[k] = v
			}
		}
		return post(t, srv, "/token", &srv.Confidential, f)
	}

	t.Run("tokens and ID token", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Confidential, url.Values{"scope": {"openid profile email"}, "nonce": {"n-1"}})
		r := exchange(t, code, verifier, nil)
		wantOK(t, r, http.StatusOK)
		if got, want := r.header.Get("Cache-Control"), "no-store"; got != want {
			t.Errorf("Cache-Control = %q, want %q", got, want)
		}
		if r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("token_type") != "Bearer" {
			t.Fatalf("token response %s lacks a field", r.raw)
		}
		if got, want := r.body["expires_in"], float64(3600); got != want {
			t.Errorf("expires_in = %v, want %v", got, want)
		}
		at := claims(t, r.str("access_token"))
		if at["sub"] != "alice" || at["client_id"] != "confidential" || at["iss"] != srv.URL || at["scope"] != "openid profile email" {
			t.Errorf("access token claims = %v", at)
		}
		id := claims(t, r.str("id_token"))
		sum := sha256.Sum256([]byte(r.str("access_token")))
		for k, want := range map[string]any{"iss": srv.URL, "sub": "alice", "aud": "confidential", "azp": "confidential",
			"nonce": "n-1", "at_hash": b64(sum[:16]), "name": "Alice Liddell", "email": "alice@example.test"} {
			if id[k] != want {
				t.Errorf("ID token %s = %v, want %v", k, id[k], want)
			}
		}
		if _, ok := id["auth_time"]; !ok {
			t.Errorf("ID token has no auth_time")
		}
	})

	t.Run("reused code revokes its tokens", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Confidential, nil)
		first := exchange(t, code, verifier, nil)
		wantOK(t, first, http.StatusOK)
		wantError(t, exchange(t, code, verifier, nil), http.StatusBadRequest, "invalid_grant")
		if active(t, srv, first.str("access_token")) {
			t.Errorf("the access token issued from a reused code is still active")
		}
		r := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")))
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("expired code", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Confidential, nil)
		clk.Advance(time.Minute)
		wantError(t, exchange(t, code, verifier, nil), http.StatusBadRequest, "invalid_grant")
	})

	errs := []struct {
		name   string
		change url.Values
		status int
		code   string
	}{
		{"wrong verifier", url.Values{"code_verifier": {"a-verifier-that-is-long-enough-but-not-the-right-one-at-all"}}, 400, "invalid_grant"},
		{"missing verifier", url.Values{"code_verifier": nil}, 400, "invalid_request"},
		{"wrong redirect_uri", url.Values{"redirect_uri": {"http://127.0.0.1:8080/callback"}}, 400, "invalid_grant"},
		{"missing redirect_uri", url.Values{"redirect_uri": nil}, 400, "invalid_grant"},
		{"missing code", url.Values{"code": nil}, 400, "invalid_request"},
		{"unknown code", url.Values{"code": {"nope"}}, 400, "invalid_grant"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := authorize(t, srv, srv.Confidential, nil)
			wantError(t, exchange(t, code, verifier, tt.change), tt.status, tt.code)
		})
	}

	t.Run("code of another client", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Post, nil)
		wantError(t, exchange(t, code, verifier, nil), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("public client", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Public, nil)
		r := post(t, srv, "/token", &srv.Public, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}})
		wantOK(t, r, http.StatusOK)
	})
}
