package devserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// markup is what a client name, a scope, a user code or a parameter name
// carries to attack the pages: elements that would run script, and quotes
// that would close the attribute a value is written in.
const markup = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

// wantInert checks that a page shows markup only as text: no element of it
// survives, while its escaped form is there.
func wantInert(t *testing.T, what string, r *response) {
	t.Helper()
	for _, raw := range []string{"<script>", "<img", `"'>`} {
		if strings.Contains(r.raw, raw) {
			t.Errorf("%s: the page carries %q unescaped:\n%s", what, raw, r.raw)
		}
	}
	if !strings.Contains(r.raw, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%s: the page does not show the text escaped:\n%s", what, r.raw)
	}
}

// wantPageHeaders checks the headers every page carries: HTML in UTF-8, never
// cached, and never framed (against clickjacking of the Allow buttons).
func wantPageHeaders(t *testing.T, what string, r *response) {
	t.Helper()
	for _, h := range []struct{ name, want string }{
		{"Content-Type", "text/html; charset=utf-8"},
		{"Cache-Control", "no-store"},
		{"X-Frame-Options", "DENY"},
	} {
		if got := r.header.Get(h.name); got != h.want {
			t.Errorf("%s (HTTP %d): %s = %q, want %q", what, r.status, h.name, got, h.want)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s (HTTP %d): Content-Security-Policy = %q, want default-src 'none' and frame-ancestors 'none'", what, r.status, csp)
	}
}

// TestPagesEscape checks that the login, consent, device and error pages show
// client names, scopes, user codes and parameter names as text, and that every
// page, errors included, carries the anti-framing and no-store headers.
func TestPagesEscape(t *testing.T) {
	evil := devserver.Client{ID: "evil", Name: markup, AuthMethod: pixie.AuthNone, RedirectURIs: []string{devservertest.RedirectURL}}
	srv := devservertest.NewServer(t, devservertest.WithAutoApprove(false), func(o *devserver.Options) {
		o.Clients = append(o.Clients, evil)
	})
	// Every character of a scope token but '"' and '\' is allowed (RFC 6749
	// section 3.3), markup included.
	scope := "openid <script>alert(1)</script>'><img"
	check := func(t *testing.T, what string, r *response, status int) {
		t.Helper()
		if r.status != status {
			t.Errorf("%s: HTTP %d, want %d:\n%s", what, r.status, status, r.raw)
		}
		wantPageHeaders(t, what, r)
	}

	b := newTab(t, srv)
	u, _ := authURL(srv, evil, url.Values{"scope": {scope}})
	login := b.get(t, u)
	check(t, "login page", login, http.StatusOK)
	wantInert(t, "login page", login)
	form := url.Values{"request_id": {hidden(login, "request_id")}, "csrf_token": {hidden(login, "csrf_token")},
		"username": {srv.User.Username}, "password": {"wrong"}}
	wrong := b.post(t, "/login", form)
	check(t, "login page with an error", wrong, http.StatusUnauthorized)
	wantInert(t, "login page with an error", wrong)
	form.Set("csrf_token", hidden(wrong, "csrf_token"))
	form.Set("password", srv.User.Password.Reveal())
	consent := b.post(t, "/login", form)
	check(t, "consent page", consent, http.StatusOK)
	wantInert(t, "consent page", consent)
	if strings.Contains(consent.raw, "<code><script>") || !strings.Contains(consent.raw, "<code>&lt;script&gt;alert(1)&lt;/script&gt;&#39;&gt;&lt;img</code>") {
		t.Errorf("consent page: the scope is not shown escaped:\n%s", consent.raw)
	}

	da := post(t, srv, "/device_authorization", &evil, nil)
	wantOK(t, da, http.StatusOK)
	device := b.get(t, strings.TrimPrefix(da.str("verification_uri_complete"), srv.URL))
	check(t, "device page naming the client", device, http.StatusOK)
	wantInert(t, "device page naming the client", device)
	code := newTab(t, srv).get(t, "/device?user_code="+url.QueryEscape(markup))
	check(t, "device page with a user_code parameter", code, http.StatusOK)
	wantInert(t, "device page with a user_code parameter", code)
	done := b.post(t, "/device", formOf("csrf_token", hidden(device, "csrf_token"), "user_code", da.str("user_code"), "action", "approve"))
	check(t, "device page, approved", done, http.StatusOK)
	expired := b.post(t, "/device", formOf("csrf_token", "stale", "user_code", markup, "action", "approve"))
	check(t, "device page with an error", expired, http.StatusBadRequest)
	wantInert(t, "device page with an error", expired)

	repeated := url.QueryEscape(markup)
	errPage := b.get(t, "/authorize?client_id=evil&"+repeated+"=1&"+repeated+"=2")
	check(t, "error page", errPage, http.StatusBadRequest)
	if strings.Contains(errPage.raw, "<script>") || !strings.Contains(errPage.raw, "&lt;script&gt;") {
		t.Errorf("error page: the parameter name is not shown escaped:\n%s", errPage.raw)
	}
	forbidden := b.post(t, "/device", formOf("csrf_token", "x"), "Origin", "http://evil.example")
	check(t, "cross-origin refusal", forbidden, http.StatusForbidden)
}
