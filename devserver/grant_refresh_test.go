package devserver_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestRefreshRotation(t *testing.T) {
	srv := devservertest.NewServer(t)
	refresh := func(t *testing.T, rt string, extra ...string) *response {
		t.Helper()
		return post(t, srv, "/token", &srv.Confidential, formOf(append([]string{"grant_type", "refresh_token", "refresh_token", rt}, extra...)...))
	}

	t.Run("rotation and reuse detection", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid profile"}})
		second := refresh(t, first.str("refresh_token"))
		wantOK(t, second, http.StatusOK)
		if second.str("refresh_token") == "" || second.str("refresh_token") == first.str("refresh_token") {
			t.Fatalf("refresh did not rotate the refresh token")
		}
		if second.str("id_token") == "" {
			t.Errorf("refresh with the openid scope returned no ID token")
		}
		third := refresh(t, second.str("refresh_token"))
		wantOK(t, third, http.StatusOK)

		// The first refresh token was rotated out: reusing it revokes the family.
		wantError(t, refresh(t, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		wantError(t, refresh(t, third.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		for _, r := range []*response{first, second, third} {
			if active(t, srv, r.str("access_token")) {
				t.Errorf("an access token of the revoked family is still active")
			}
		}
	})

	t.Run("scope narrowing", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid profile"}})
		r := refresh(t, first.str("refresh_token"), "scope", "profile")
		wantOK(t, r, http.StatusOK)
		if got, want := r.str("scope"), "profile"; got != want {
			t.Errorf("scope = %q, want %q", got, want)
		}
		wantError(t, refresh(t, r.str("refresh_token"), "scope", "profile email"), http.StatusBadRequest, "invalid_scope")
		// The rotated refresh token keeps the grant's full scope (RFC 6749 section 6).
		full := refresh(t, r.str("refresh_token"), "scope", "openid profile")
		wantOK(t, full, http.StatusOK)
		if got, want := full.str("scope"), "openid profile"; got != want {
			t.Errorf("scope = %q, want %q", got, want)
		}
	})

	t.Run("another client's refresh token", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Post, nil)
		wantError(t, refresh(t, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("unknown and missing", func(t *testing.T) {
		wantError(t, refresh(t, "nope"), http.StatusBadRequest, "invalid_grant")
		wantError(t, post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token")), http.StatusBadRequest, "invalid_request")
	})

}
