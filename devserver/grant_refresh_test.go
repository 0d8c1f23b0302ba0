package devserver_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
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

// TestRotationGracePeriod: within Options.RotationGracePeriod a rotated-out
// refresh token whose successor was never used gets new tokens instead of
// revoking the grant, as a client that crashed before saving the successor
// needs; a replay after the period, or after the successor was used, is a reuse
// and revokes the grant.
func TestRotationGracePeriod(t *testing.T) {
	const grace = 30 * time.Second
	clock := newClock()
	srv := devservertest.NewServer(t, withClock(clock), func(o *devserver.Options) { o.RotationGracePeriod = grace })
	refresh := func(t *testing.T, rt string) *response {
		t.Helper()
		return post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token", "refresh_token", rt))
	}
	revoked := func(t *testing.T, tokens ...*response) {
		t.Helper()
		for _, r := range tokens {
			if active(t, srv, r.str("access_token")) {
				t.Errorf("an access token of the grant is still active after a reuse")
			}
		}
	}

	t.Run("replay of a token whose successor was lost", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Confidential, nil)
		lost := refresh(t, first.str("refresh_token")) // the client crashed before saving it
		wantOK(t, lost, http.StatusOK)
		clock.Advance(grace - time.Second)
		again := refresh(t, first.str("refresh_token"))
		wantOK(t, again, http.StatusOK)
		if again.str("refresh_token") == lost.str("refresh_token") || again.str("refresh_token") == "" {
			t.Fatal("the replay did not get a refresh token of its own")
		}
		// The grant lives on through the replay's tokens.
		next := refresh(t, again.str("refresh_token"))
		wantOK(t, next, http.StatusOK)
		if !active(t, srv, next.str("access_token")) {
			t.Error("the access token issued after the replay is not active")
		}
		// The replay retired the lost successor: presented after it was
		// replaced and its replacement used, it is a reuse.
		wantError(t, refresh(t, lost.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		revoked(t, first, lost, again, next)
	})

	t.Run("replay after the successor was used", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Confidential, nil)
		second := refresh(t, first.str("refresh_token"))
		wantOK(t, second, http.StatusOK)
		wantOK(t, refresh(t, second.str("refresh_token")), http.StatusOK)
		wantError(t, refresh(t, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		revoked(t, first, second)
	})

	t.Run("replay after the grace period", func(t *testing.T) {
		first := codeTokens(t, srv, srv.Confidential, nil)
		second := refresh(t, first.str("refresh_token"))
		wantOK(t, second, http.StatusOK)
		clock.Advance(grace)
		wantError(t, refresh(t, first.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		wantError(t, refresh(t, second.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
		revoked(t, first, second)
	})

	t.Run("without a grace period every replay is a reuse", func(t *testing.T) {
		strict := devservertest.NewServer(t)
		first := codeTokens(t, strict, strict.Confidential, nil)
		second := post(t, strict, "/token", &strict.Confidential, formOf("grant_type", "refresh_token", "refresh_token", first.str("refresh_token")))
		wantOK(t, second, http.StatusOK)
		wantError(t, post(t, strict, "/token", &strict.Confidential, formOf("grant_type", "refresh_token", "refresh_token", first.str("refresh_token"))),
			http.StatusBadRequest, "invalid_grant")
		if active(t, strict, second.str("access_token")) {
			t.Error("the successor's access token is still active after a reuse")
		}
	})

	t.Run("config file", func(t *testing.T) {
		o, err := devserver.ParseConfig([]byte("issuer: http://127.0.0.1:9000\nrotation_grace_period: 10s\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := o.RotationGracePeriod, 10*time.Second; got != want {
			t.Errorf("RotationGracePeriod = %v, want %v", got, want)
		}
	})
}
