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

	t.Run("verification page names the client to a signed-in user", func(t *testing.T) {
		// RFC 8628 section 5.4: the user sees what asks for access before
		// approving, which helps against remote phishing. Only after signing
		// in: otherwise the page would tell anyone which codes are live.
		r := start(t)
		names := func(page *response) bool {
			return strings.Contains(page.raw, "<strong>device</strong> asks for access") && strings.Contains(page.raw, "<code>openid</code>")
		}
		b := newTab(t, srv)
		page := b.get(t, r.str("verification_uri_complete"))
		wantOK(t, page, http.StatusOK)
		if names(page) || strings.Contains(page.raw, `value="approve"`) {
			t.Errorf("the page names the client, or offers to approve, before the user signs in:\n%s", page.raw)
		}
		page = b.post(t, "/device", formOf("csrf_token", hidden(page, "csrf_token"), "user_code", r.str("user_code"),
			"action", "continue", "username", srv.User.Username, "password", srv.User.Password.Reveal()))
		wantOK(t, page, http.StatusOK)
		if !names(page) || !strings.Contains(page.raw, `value="approve"`) {
			t.Errorf("after signing in, the page does not name the client and its scopes, or offers no approval:\n%s", page.raw)
		}
		if page := b.get(t, r.str("verification_uri_complete")); !names(page) {
			t.Errorf("a signed-in user's page does not name the client:\n%s", page.raw)
		}
		if unknown := b.get(t, "/device?user_code=BCDF-GHJK"); unknown.status != http.StatusBadRequest || strings.Contains(unknown.raw, "</strong> asks for access") {
			t.Errorf("unknown code: HTTP %d, want 400 and no client named:\n%s", unknown.status, unknown.raw)
		}
		page = b.post(t, "/device", formOf("csrf_token", hidden(page, "csrf_token"), "user_code", r.str("user_code"), "action", "approve"))
		if !strings.Contains(page.raw, `id="done"`) {
			t.Errorf("approving from the page that names the client failed:\n%s", page.raw)
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
	// enter fills a fresh verification form as u, in a new browser without a
	// session cookie.
	enter := func(t *testing.T, u devserver.User, code string) *response {
		t.Helper()
		b := newTab(t, srv)
		page := b.get(t, "/device")
		wantOK(t, page, http.StatusOK)
		return b.post(t, "/device", formOf("csrf_token", hidden(page, "csrf_token"),
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
	t.Run("a right code does not reset the count", func(t *testing.T) {
		// Anyone can start a device authorization and enter its code: if that
		// reset the count, every code of one's own would buy more guesses.
		clk.Advance(15 * time.Minute)
		for i := range 4 {
			wantPage(t, enter(t, mallory, fmt.Sprintf("BCDF-GHK%c", "KLMN"[i])), http.StatusBadRequest, "Unknown, expired or already used code")
		}
		wantPage(t, enter(t, mallory, start(t).str("user_code")), http.StatusOK, `id="done"`)
		wantPage(t, enter(t, mallory, "BCDF-GHKP"), http.StatusTooManyRequests, locked)
	})
	t.Run("the lockout ends", func(t *testing.T) {
		clk.Advance(15 * time.Minute)
		r := start(t)
		wantPage(t, enter(t, mallory, r.str("user_code")), http.StatusOK, `id="done"`)
	})
}

// TestDeviceCodeLookups checks that opening the verification page with a user
// code in the URL counts as entering it: a signed-in user who looks up wrong
// codes is locked out like one who enters them, and the locked-out page names
// no client even for a live code.
func TestDeviceCodeLookups(t *testing.T) {
	srv := devservertest.NewServer(t, withClock(newClock()), devservertest.WithAutoApprove(false))
	victim := post(t, srv, "/device_authorization", &srv.Device, nil)
	wantOK(t, victim, http.StatusOK)
	b := newTab(t, srv)
	page := b.get(t, "/device")
	wantOK(t, b.post(t, "/device", formOf("csrf_token", hidden(page, "csrf_token"), "action", "continue",
		"username", srv.User.Username, "password", srv.User.Password.Reveal())), http.StatusOK)
	for i := range 4 {
		if r := b.get(t, fmt.Sprintf("/device?user_code=BCDF-GHJ%c", "KLMN"[i])); r.status != http.StatusBadRequest {
			t.Fatalf("lookup %d of a wrong code: HTTP %d, want 400", i+1, r.status)
		}
	}
	if r := b.get(t, "/device?user_code=BCDF-GHJP"); r.status != http.StatusTooManyRequests || !strings.Contains(r.raw, "Too many wrong codes") {
		t.Fatalf("fifth wrong lookup: HTTP %d, want 429 with the lockout message:\n%s", r.status, r.raw)
	}
	r := b.get(t, strings.TrimPrefix(victim.str("verification_uri_complete"), srv.URL))
	if r.status != http.StatusTooManyRequests || strings.Contains(r.raw, "<strong>device</strong>") {
		t.Errorf("live code while locked out: HTTP %d, want 429 without the client's name:\n%s", r.status, r.raw)
	}
}
