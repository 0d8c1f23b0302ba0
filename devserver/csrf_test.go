package devserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
)

// crossOrigin are the headers a browser sends with a form that a page of
// another origin posts: another site, another port of this host (the same
// site for SameSite cookies, so the session cookie goes along), or a sandboxed
// page. With each, the pages' forms must refuse to act.
var crossOrigin = map[string][]string{
	"Origin of another site":           {"Origin", "http://evil.example"},
	"Origin of another port":           {"Origin", "http://127.0.0.1:1"},
	"Origin null":                      {"Origin", "null"},
	"Sec-Fetch-Site cross-site":        {"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"},
	"Sec-Fetch-Site same-site":         {"Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:1"},
	"Sec-Fetch-Site without an Origin": {"Sec-Fetch-Site", "cross-site"},
}

// TestCrossSiteForms checks that a page of another site cannot make a signed-in
// user's browser approve a device, log in or consent: a csrf_token is good only
// in the browser it was rendered for, and a form posted from another origin is
// refused (403). Programs that send neither Origin nor Sec-Fetch-Site, such as
// devserver.Browser, still fill the forms (the other tests use it).
func TestCrossSiteForms(t *testing.T) {
	srv := devservertest.NewServer(t, devservertest.WithAutoApprove(false))
	// victim is a browser signed in as srv.User.
	victim := newTab(t, srv)
	u, _ := authURL(srv, srv.Public, nil)
	login := victim.get(t, u)
	wantOK(t, victim.post(t, "/login", url.Values{"request_id": {hidden(login, "request_id")}, "csrf_token": {hidden(login, "csrf_token")},
		"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}}), http.StatusOK)

	startDevice := func(t *testing.T) *response {
		t.Helper()
		r := post(t, srv, "/device_authorization", &srv.Device, nil)
		wantOK(t, r, http.StatusOK)
		return r
	}
	wantPending := func(t *testing.T, da *response) {
		t.Helper()
		wantError(t, post(t, srv, "/token", &srv.Device, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code",
			"device_code", da.str("device_code"))), http.StatusBadRequest, "authorization_pending")
	}
	// approve posts the device form with csrf as the victim, with headers.
	approve := func(t *testing.T, csrf string, da *response, header ...string) *response {
		t.Helper()
		return victim.post(t, "/device", formOf("csrf_token", csrf, "user_code", da.str("user_code"), "action", "approve"), header...)
	}

	t.Run("device: the attacker's own token", func(t *testing.T) {
		// The attacker loads the page himself for a valid csrf_token and has
		// the victim's browser post it with the code of his device. Without
		// Origin headers (an old browser) only the binding stops it.
		da := startDevice(t)
		attacker := newTab(t, srv)
		r := approve(t, hidden(attacker.get(t, "/device"), "csrf_token"), da)
		if r.status != http.StatusBadRequest || strings.Contains(r.raw, `id="done"`) {
			t.Errorf("HTTP %d, want 400 and no approval:\n%s", r.status, r.raw)
		}
		wantPending(t, da)
	})
	for name, header := range crossOrigin {
		t.Run("device: "+name, func(t *testing.T) {
			da := startDevice(t)
			r := approve(t, hidden(victim.get(t, "/device"), "csrf_token"), da, header...)
			if r.status != http.StatusForbidden || strings.Contains(r.raw, `id="done"`) {
				t.Errorf("HTTP %d, want 403 and no approval:\n%s", r.status, r.raw)
			}
			wantPending(t, da)
		})
	}
	for name, header := range map[string][]string{
		"Origin of the server":           {"Origin", srv.URL},
		"Sec-Fetch-Site same-origin":     {"Sec-Fetch-Site", "same-origin", "Origin", srv.URL},
		"Sec-Fetch-Site none":            {"Sec-Fetch-Site", "none"},
		"issuer's Origin behind a proxy": {"Origin", srv.URL, "Host", "proxied.internal:8080"},
		"no Origin (a program)":          nil,
	} {
		t.Run("device: "+name+" is accepted", func(t *testing.T) {
			da := startDevice(t)
			if r := approve(t, hidden(victim.get(t, "/device"), "csrf_token"), da, header...); !strings.Contains(r.raw, `id="done"`) {
				t.Errorf("HTTP %d, want the device approved:\n%s", r.status, r.raw)
			}
		})
	}

	t.Run("login: the attacker's own request", func(t *testing.T) {
		// Login CSRF: the attacker starts an authorization request himself
		// and has the victim's browser sign in to it as the attacker.
		attacker := newTab(t, srv)
		u, _ := authURL(srv, srv.Public, nil)
		page := attacker.get(t, u)
		r := newTab(t, srv).post(t, "/login", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
			"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}})
		if r.status != http.StatusBadRequest || strings.Contains(r.raw, `id="consent"`) {
			t.Errorf("HTTP %d, want 400 and no consent page:\n%s", r.status, r.raw)
		}
	})
	t.Run("consent: the attacker's own request", func(t *testing.T) {
		attacker := newTab(t, srv)
		u, _ := authURL(srv, srv.Public, nil)
		page := attacker.get(t, u)
		page = attacker.post(t, "/login", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
			"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}})
		wantOK(t, page, http.StatusOK)
		r := victim.post(t, "/consent", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")}, "action": {"approve"}})
		if r.status != http.StatusBadRequest {
			t.Errorf("HTTP %d, want 400 and no redirect:\n%s", r.status, r.raw)
		}
	})
	for name, header := range crossOrigin {
		t.Run("login: "+name, func(t *testing.T) {
			b := newTab(t, srv)
			u, _ := authURL(srv, srv.Public, nil)
			page := b.get(t, u)
			r := b.post(t, "/login", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
				"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}}, header...)
			if r.status != http.StatusForbidden || strings.Contains(r.raw, `id="consent"`) {
				t.Errorf("HTTP %d, want 403 and no consent page:\n%s", r.status, r.raw)
			}
		})
		t.Run("consent: "+name, func(t *testing.T) {
			u, _ := authURL(srv, srv.Public, nil)
			page := victim.get(t, u)
			if !strings.Contains(page.raw, `id="consent"`) {
				t.Fatalf("the signed-in browser got no consent page:\n%s", page.raw)
			}
			r := victim.post(t, "/consent", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
				"action": {"approve"}}, header...)
			if r.status != http.StatusForbidden || r.header.Get("Location") != "" {
				t.Errorf("HTTP %d (Location %q), want 403 and no redirect", r.status, r.header.Get("Location"))
			}
		})
	}
}
