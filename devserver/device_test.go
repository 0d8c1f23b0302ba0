package devserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestDeviceGrant(t *testing.T) {
	clk := newClock()
	srv := devservertest.NewServer(t, withClock(clk), devservertest.WithAutoApprove(false))
	start := func(t *testing.T) *response {
		t.Helper()
		r := post(t, srv, "/device_authorization", &srv.Device, formOf("scope", "openid"))
		wantOK(t, r, http.StatusOK)
		return r
	}
	poll := func(t *testing.T, deviceCode string) *response {
		t.Helper()
		return post(t, srv, "/token", &srv.Device, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", deviceCode))
	}

	t.Run("authorization response", func(t *testing.T) {
		r := start(t)
		if got, want := r.str("verification_uri"), srv.URL+"/device"; got != want {
			t.Errorf("verification_uri = %q, want %q", got, want)
		}
		if !strings.Contains(r.str("verification_uri_complete"), "user_code=") {
			t.Errorf("verification_uri_complete = %q", r.str("verification_uri_complete"))
		}
		if got, want := r.body["interval"], float64(5); got != want {
			t.Errorf("interval = %v, want %v", got, want)
		}
		if got, want := len(r.str("user_code")), 9; got != want {
			t.Errorf("user_code %q has %d characters, want %d", r.str("user_code"), got, want)
		}
	})

	t.Run("pending, slow_down, approved", func(t *testing.T) {
		r := start(t)
		dc := r.str("device_code")
		wantError(t, poll(t, dc), http.StatusBadRequest, "authorization_pending")
		wantError(t, poll(t, dc), http.StatusBadRequest, "slow_down")
		// The interval grew by five seconds: polling after the old one is too fast.
		clk.Advance(5 * time.Second)
		wantError(t, poll(t, dc), http.StatusBadRequest, "slow_down")
		clk.Advance(15 * time.Second)
		wantError(t, poll(t, dc), http.StatusBadRequest, "authorization_pending")

		srv.ApproveDevice(t, strings.ToLower(r.str("user_code")))
		clk.Advance(15 * time.Second)
		tok := poll(t, dc)
		wantOK(t, tok, http.StatusOK)
		if tok.str("refresh_token") == "" || tok.str("id_token") == "" {
			t.Errorf("device tokens %s lack a refresh or ID token", tok.raw)
		}
		clk.Advance(15 * time.Second)
		wantError(t, poll(t, dc), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("denied", func(t *testing.T) {
		r := start(t)
		b := srv.Browser()
		b.Deny = true
		if err := b.Device(context.Background(), r.str("verification_uri"), r.str("user_code")); err != nil {
			t.Fatal(err)
		}
		wantError(t, poll(t, r.str("device_code")), http.StatusBadRequest, "access_denied")
	})

	t.Run("expired", func(t *testing.T) {
		r := start(t)
		clk.Advance(10 * time.Minute)
		wantError(t, poll(t, r.str("device_code")), http.StatusBadRequest, "expired_token")
	})

	t.Run("verification page names the client", func(t *testing.T) {
		// RFC 8628 section 5.4: the user sees what asks for access before
		// approving, which helps against remote phishing.
		r := start(t)
		page := get(t, srv, strings.TrimPrefix(r.str("verification_uri_complete"), srv.URL))
		wantOK(t, page, http.StatusOK)
		if !strings.Contains(page.raw, "<strong>device</strong> asks for access") || !strings.Contains(page.raw, "<code>openid</code>") {
			t.Errorf("the verification page does not name the client and its scopes:\n%s", page.raw)
		}
		if unknown := get(t, srv, "/device?user_code=BCDF-GHJK"); strings.Contains(unknown.raw, "asks for access") {
			t.Errorf("the page names a client for an unknown code")
		}
	})

	t.Run("wrong user code", func(t *testing.T) {
		err := srv.Browser().Device(context.Background(), srv.URL+"/device", "BCDF-GHJK")
		if err == nil || !strings.Contains(err.Error(), "Unknown, expired or already used code") {
			t.Errorf("err = %v, want the page's unknown code message", err)
		}
	})

	t.Run("another client's device code", func(t *testing.T) {
		r := start(t)
		got := post(t, srv, "/token", &srv.Public, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", r.str("device_code")))
		wantError(t, got, http.StatusBadRequest, "unauthorized_client")
	})

	t.Run("auto-approve through verification_uri_complete", func(t *testing.T) {
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.DeviceInterval = time.Second })
		r := post(t, srv, "/device_authorization", &srv.Device, nil)
		wantOK(t, r, http.StatusOK)
		page := get(t, srv, strings.TrimPrefix(r.str("verification_uri_complete"), srv.URL))
		if !strings.Contains(page.raw, `id="done"`) {
			t.Fatalf("verification page did not approve: %s", page.raw)
		}
		wantOK(t, post(t, srv, "/token", &srv.Device, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", r.str("device_code"))), http.StatusOK)
	})
}

// TestDeviceCodeGuessing checks the verification page's limit on wrong user
// codes (RFC 8628 section 5.1): five wrong codes lock that user out for a
// while, even with fresh forms and no session, while other users still enter
// their right codes.
func TestDeviceCodeGuessing(t *testing.T) {
	clk := newClock()
	mallory := devserver.User{Username: "mallory", Password: secret("guessing")}
	srv := devservertest.NewServer(t, withClock(clk), devservertest.WithAutoApprove(false),
		func(o *devserver.Options) { o.Users = append(o.Users, mallory) })
	start := func(t *testing.T) *response {
		t.Helper()
		r := post(t, srv, "/device_authorization", &srv.Device, nil)
		wantOK(t, r, http.StatusOK)
		return r
	}
	// enter fills a fresh verification form as u, without a session cookie.
	enter := func(t *testing.T, u devserver.User, code string) *response {
		t.Helper()
		page := get(t, srv, "/device")
		wantOK(t, page, http.StatusOK)
		return post(t, srv, "/device", nil, formOf("csrf_token", between(page.raw, `name="csrf_token" value="`, `"`),
			"user_code", code, "action", "approve", "username", u.Username, "password", u.Password.Reveal()))
	}
	wantPage := func(t *testing.T, r *response, status int, text string) {
		t.Helper()
		if r.status != status || !strings.Contains(r.raw, text) {
			t.Fatalf("got HTTP %d:\n%s\nwant HTTP %d with %q", r.status, r.raw, status, text)
		}
	}
	const locked = "Too many wrong codes"
	poll := func(t *testing.T, deviceCode string) *response {
		t.Helper()
		clk.Advance(time.Minute)
		return post(t, srv, "/token", &srv.Device, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", deviceCode))
	}

	victim := start(t)
	for i := range 4 {
		wantPage(t, enter(t, mallory, fmt.Sprintf("BCDF-GHJ%c", "KLMN"[i])), http.StatusBadRequest, "Unknown, expired or already used code")
	}
	wantPage(t, enter(t, mallory, "BCDF-GHJP"), http.StatusTooManyRequests, locked)
	t.Run("the right code is refused while locked out", func(t *testing.T) {
		wantPage(t, enter(t, mallory, victim.str("user_code")), http.StatusTooManyRequests, locked)
		wantError(t, poll(t, victim.str("device_code")), http.StatusBadRequest, "authorization_pending")
	})
	t.Run("other users are not affected", func(t *testing.T) {
		wantPage(t, enter(t, srv.User, victim.str("user_code")), http.StatusOK, `id="done"`)
		wantOK(t, poll(t, victim.str("device_code")), http.StatusOK)
	})
	t.Run("the lockout ends", func(t *testing.T) {
		clk.Advance(15 * time.Minute)
		r := start(t)
		wantPage(t, enter(t, mallory, r.str("user_code")), http.StatusOK, `id="done"`)
	})
}
