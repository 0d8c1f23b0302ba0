package devserver_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestClientCredentials(t *testing.T) {
	srv := devservertest.NewServer(t)
	t.Run("resource indicators", func(t *testing.T) {
		r := post(t, srv, "/token", &srv.Confidential, url.Values{"grant_type": {"client_credentials"},
			"resource": {"https://a.example/", "https://b.example/"}})
		wantOK(t, r, http.StatusOK)
		if got := claims(t, r.str("access_token"))["aud"]; len(got.([]any)) != 2 {
			t.Errorf("aud = %v, want both resources", got)
		}
		bad := post(t, srv, "/token", &srv.Confidential, url.Values{"grant_type": {"client_credentials"}, "resource": {"relative/path"}})
		wantError(t, bad, http.StatusBadRequest, "invalid_target")
	})
	t.Run("client credentials has no refresh token", func(t *testing.T) {
		r := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "client_credentials", "scope", "read"))
		wantOK(t, r, http.StatusOK)
		if r.str("refresh_token") != "" {
			t.Errorf("client_credentials issued a refresh token")
		}
		if got, want := r.str("scope"), "read"; got != want {
			t.Errorf("scope = %q, want %q", got, want)
		}
	})
}
