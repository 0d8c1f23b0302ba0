package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/web"
)

// withParam returns u with the query parameter name set to value, or removed
// when value is "".
func withParam(u *url.URL, name, value string) string {
	q := u.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}

// TestCallbackAttacks sends forged or altered callbacks: each is refused
// before any code reaches the token endpoint, and nobody is signed in.
func TestCallbackAttacks(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	for _, tc := range []struct {
		name   string
		alter  func(*url.URL) string
		status int
		says   string
	}{
		{"MissingState", func(u *url.URL) string { return withParam(u, "state", "") }, http.StatusBadRequest, "state does not match"},
		{"MismatchedState", func(u *url.URL) string { return withParam(u, "state", "forged-"+u.Query().Get("state")) }, http.StatusBadRequest, "state does not match"},
		{"WrongIss", func(u *url.URL) string { return withParam(u, "iss", "https://evil.example") }, http.StatusBadRequest, "iss does not match"},
		{"MissingIss", func(u *url.URL) string { return withParam(u, "iss", "") }, http.StatusBadRequest, "iss does not match"},
		// The provider's error wins even over a valid code beside it.
		{"ProviderError", func(u *url.URL) string { return withParam(u, "error", "access_denied") }, http.StatusForbidden, "refused the sign-in: access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			cb := b.callbackURL(a, "")
			before := e.grantCount("authorization_code")
			r := b.get(tc.alter(cb))
			if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
				t.Errorf("callback: %d %s; want %d saying %q", r.StatusCode, r.body, tc.status, tc.says)
			}
			if got := e.grantCount("authorization_code") - before; got != 0 {
				t.Errorf("%d code exchanges; want none", got)
			}
			if b.cookie(a, sessionCookie) != "" {
				t.Error("a session cookie was set")
			}
			b.wantSignedOut(a)
			// The sign-in is used up: the genuine callback no longer works.
			if r := b.get(cb.String()); r.StatusCode != http.StatusBadRequest {
				t.Errorf("the genuine callback after a refused one: %d; want 400", r.StatusCode)
			}
		})
	}
}

// TestReplayedCode visits the callback twice: the second visit finds no
// sign-in in progress and sends no second code exchange, so the provider does
// not see a reused code (and revoke the tokens of the first).
func TestReplayedCode(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	cb := b.callbackURL(a, "")
	loginID := b.cookie(a, "pixie-login")
	if r := b.get(cb.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.StatusCode, r.body)
	}
	// The callback cleared the login cookie; a replay (a copied request, or a
	// browser that kept the cookie) sends it again.
	b.setCookie(a, "pixie-login", loginID)
	r := b.get(cb.String())
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "no sign-in is in progress") {
		t.Errorf("replayed callback: %d %s; want 400", r.StatusCode, r.body)
	}
	if got := e.grantCount("authorization_code"); got != 1 {
		t.Errorf("%d code exchanges; want 1", got)
	}
	b.wantSignedIn(a)
	if r := b.get(a.URL + "/api"); r.StatusCode != http.StatusOK {
		t.Errorf("the first sign-in's token no longer works: %d %s", r.StatusCode, r.body)
	}
}

// TestLoginCSRF makes a victim's browser visit a callback that the attacker's
// browser obtained for the attacker's own sign-in (RFC 6749 section 10.12):
// the victim has no such sign-in in progress, so it is refused, whether the
// victim has a sign-in of its own going or not.
func TestLoginCSRF(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	attacker := newBrowser(t)
	cb := attacker.callbackURL(a, "")
	for _, victimStarted := range []bool{false, true} {
		victim := newBrowser(t)
		if victimStarted {
			victim.startLogin(a, "")
		}
		r := victim.get(cb.String())
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("victim (own sign-in started: %t) on the attacker's callback: %d %s; want 400", victimStarted, r.StatusCode, r.body)
		}
		victim.wantSignedOut(a)
	}
	if got := e.grantCount("authorization_code"); got != 0 {
		t.Errorf("%d code exchanges; want none", got)
	}
}

// TestSessionCookieTampering sends altered, unknown and malformed session
// cookies: none signs in, and the cookie is cleared.
func TestSessionCookieTampering(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	b.signIn(a, "")
	id := b.cookie(a, sessionCookie)
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, value := range map[string]string{
		"last character changed":  flip(id, len(id)-1),
		"first character changed": flip(id, 0),
		"unknown id":              "Zm9yZ2VkLXNlc3Npb24taWQtZm9yZ2VkLXNlc3Npb24",
		"truncated":               id[:len(id)-1],
		"extended":                id + "A",
		"store key as cookie":     web.SessionKey(id),
		"empty":                   "",
	} {
		t.Run(name, func(t *testing.T) {
			refusedSession(t, a, value).wantSignedOut(a)
		})
	}
	b.wantSignedIn(a)
}

// TestSessionFixation plants a session id in the victim's browser before the
// sign-in: the sign-in gives a new id, and neither the planted id nor the
// sign-in's own id is signed in afterwards.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	attacker := newBrowser(t)
	attacker.signIn(a, "") // a genuine session the attacker knows
	planted := attacker.cookie(a, sessionCookie)

	victim := newBrowser(t)
	victim.setCookie(a, sessionCookie, planted)
	cb := victim.callbackURL(a, "")
	loginID := victim.cookie(a, "pixie-login")
	victim.get(cb.String())
	got := victim.cookie(a, sessionCookie)
	if got == "" || got == planted || got == loginID {
		t.Fatalf("session id after sign-in = %q (planted %q, login %q); want a new one", got, planted, loginID)
	}
	if a.sessionExists(planted) {
		t.Error("the session the browser had before signing in still exists")
	}
	fixed := newBrowser(t)
	fixed.setCookie(a, sessionCookie, loginID)
	fixed.wantSignedOut(a)
}

// TestOpenRedirect checks that return_to only ever leads to a path of the
// app, through the whole sign-in.
func TestOpenRedirect(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	for _, target := range []string{"//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
		"/\t/evil.example", "evil.example", "\\\\evil.example", "/ok\r\nSet-Cookie: x=y"} {
		b := newBrowser(t)
		r := b.signIn(a, "?return_to="+url.QueryEscape(target))
		if got := r.Header.Get("Location"); got != "/" {
			t.Errorf("return_to %q: sent to %q; want /", target, got)
		}
	}
	b := newBrowser(t)
	if got := b.signIn(a, "?return_to="+url.QueryEscape("/account?tab=keys")).Header.Get("Location"); got != "/account?tab=keys" {
		t.Errorf("return_to /account?tab=keys: sent to %q", got)
	}
}

func TestSafeReturnTo(t *testing.T) {
	for target, want := range map[string]string{
		"/":                             "/",
		"/a/b?c=d#e":                    "/a/b?c=d#e",
		"/%2F%2Fevil":                   "/%2F%2Fevil",
		"":                              "",
		"//evil.example":                "",
		"/\\evil.example":               "",
		"/a\\b":                         "",
		"https://evil":                  "",
		"HTTPS://evil":                  "",
		"javascript:x":                  "",
		"/\x00":                         "",
		"/\x7f":                         "",
		"/\t/evil":                      "",
		"relative":                      "",
		"/" + strings.Repeat("a", 2048): "",
	} {
		if got := web.SafeReturnTo(target); got != want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", target, got, want)
		}
	}
}

// TestCrossSiteLogout posts to Logout the ways a third-party page could: none
// signs the user out. The app's own form does.
func TestCrossSiteLogout(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	b.signIn(a, "")
	token := b.csrf(a)
	for _, tc := range []struct {
		name   string
		method string
		form   url.Values
		header []string
		status int
	}{
		{"GET", "GET", nil, nil, http.StatusMethodNotAllowed},
		{"no token, cross-site", "POST", url.Values{}, []string{"Origin: https://evil.example", "Sec-Fetch-Site: cross-site"}, http.StatusForbidden},
		{"no token, no fetch metadata", "POST", url.Values{}, nil, http.StatusForbidden},
		{"wrong token", "POST", url.Values{"csrf_token": {"x" + token}}, []string{"Origin: " + a.URL, "Sec-Fetch-Site: same-origin"}, http.StatusForbidden},
		{"token, cross-site", "POST", url.Values{"csrf_token": {token}}, []string{"Origin: https://evil.example", "Sec-Fetch-Site: cross-site"}, http.StatusForbidden},
		{"token, other origin", "POST", url.Values{"csrf_token": {token}}, []string{"Origin: https://evil.example"}, http.StatusForbidden},
		{"token, same-site sibling", "POST", url.Values{"csrf_token": {token}}, []string{"Sec-Fetch-Site: same-site"}, http.StatusForbidden},
	} {
		r := b.do(tc.method, a.URL+"/logout", tc.form, tc.header...)
		if r.StatusCode != tc.status {
			t.Errorf("%s: %d %s; want %d", tc.name, r.StatusCode, r.body, tc.status)
		}
		b.wantSignedIn(a)
	}
	// The same checks guard the app's own POST endpoints behind Require.
	if r := b.do("POST", a.URL+"/private", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site: cross-site"); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST to a Require page: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", a.URL+"/private", url.Values{}, "Sec-Fetch-Site: same-origin"); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without token to a Require page: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", a.URL+"/private", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site: same-origin"); r.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST with token to a Require page: %d %s; want 200", r.StatusCode, r.body)
	}
	if r := b.do("POST", a.URL+"/logout", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site: same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("logout from the app's own form: %d %s", r.StatusCode, r.body)
	}
	b.wantSignedOut(a)
}
