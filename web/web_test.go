package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// TestSignIn signs in through Login and Callback and checks the cookie, the
// user a handler sees, and the return to the page asked for.
func TestSignIn(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	r := b.get(a.URL + "/login?return_to=" + url.QueryEscape("/private?tab=1"))
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), e.dev.URL+"/authorize?") {
		t.Fatalf("Login: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	q, _ := url.Parse(r.Header.Get("Location"))
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if q.Query().Get(p) == "" {
			t.Errorf("the authorization request has no %s", p)
		}
	}
	if got := q.Query().Get("code_challenge_method"); got != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", got)
	}
	r = b.get(e.dev.Authorize(t, r.Header.Get("Location")).String())
	if got := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || got != "/private?tab=1" {
		t.Fatalf("callback: %d to %q; want 303 to /private?tab=1: %s", r.StatusCode, got, r.body)
	}
	var set *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			set = c
		}
	}
	if set == nil {
		t.Fatal("the callback set no session cookie")
	}
	if !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.Domain != "" || set.Secure {
		t.Errorf("session cookie %+v; want HttpOnly, SameSite=Lax, Path=/, host-only, not Secure over http", set)
	}
	if len(set.Value) < 43 {
		t.Errorf("session id %d characters; want at least 256 bits", len(set.Value))
	}
	if b.cookie(a, "pixie-login") != "" {
		t.Error("the login cookie outlived the callback")
	}
	got := b.get(a.URL + "/private").body
	if !strings.Contains(got, "name=Alice Liddell email=alice@example.test sub=alice provider=dev") {
		t.Errorf("private page: %q", got)
	}
	if !a.sessionExists(set.Value) {
		t.Error("the store has no session under the cookie's id")
	}
	// The tokens stay on the server: nothing the browser received holds them.
	rec, _, err := a.store.Load(t.Context(), web.SessionKey(set.Value))
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Token struct{ AT, RT string } `json:"t"`
	}
	if err := json.Unmarshal(rec.Data, &data); err != nil || data.Token.AT == "" || data.Token.RT == "" {
		t.Fatalf("no tokens in the session record: %v", err)
	}
	for name, tok := range map[string]string{"access": data.Token.AT, "refresh": data.Token.RT} {
		if strings.Contains(b.seen.String(), tok) {
			t.Errorf("the browser received the %s token", name)
		}
	}
}

// TestHTTPSCookies checks that an app served over https uses Secure
// __Host- cookies.
func TestHTTPSCookies(t *testing.T) {
	e := newEnv(t)
	w, err := web.New(t.Context(), web.BaseURL("https://app.example"), web.Store(e.sqliteStore()),
		web.WithProvider(e.devProvider()), web.Clock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptestRecorder(w.Login(), "GET", "https://app.example/login")
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != "__Host-pixie-login" || !cs[0].Secure || !cs[0].HttpOnly || cs[0].Path != "/" || cs[0].Domain != "" {
		t.Errorf("login cookie %+v; want a Secure, HttpOnly, host-only __Host- cookie for /", cs)
	}
}

// TestRequire checks what a signed-out request gets: a browser GET goes to
// Login and comes back; JSON and other methods get 401.
func TestRequire(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	r := b.get(a.URL + "/private?x=1")
	if got, want := r.Header.Get("Location"), "/login?return_to="+url.QueryEscape("/private?x=1"); r.StatusCode != http.StatusSeeOther || got != want {
		t.Errorf("signed-out GET: %d to %q; want 303 to %q", r.StatusCode, got, want)
	}
	for _, tc := range []struct {
		method string
		header []string
	}{
		{"GET", []string{"Accept: application/json"}},
		{"POST", nil},
		{"DELETE", nil},
	} {
		r := b.do(tc.method, a.URL+"/private", nil, tc.header...)
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" || !strings.Contains(r.body, "login_required") {
			t.Errorf("signed-out %s %v: %d %q %s; want 401 with WWW-Authenticate", tc.method, tc.header, r.StatusCode, r.Header.Get("WWW-Authenticate"), r.body)
		}
	}
	b.signIn(a, "")
	if r := b.get(a.URL+"/private", "Accept: application/json"); r.StatusCode != http.StatusOK {
		t.Errorf("signed-in JSON GET: %d", r.StatusCode)
	}
}

// TestUserAPI calls an API with the user's token through User.Client, then
// again after the access token expired: the session's refresh token renews
// it, once, and the new token is kept in the session.
func TestUserAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	b.signIn(a, "")
	if r := b.get(a.URL + "/api"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"sub":"alice"`) {
		t.Fatalf("API call: %d %s", r.StatusCode, r.body)
	}
	e.clock.Advance(2 * time.Hour) // the access token lived an hour
	for range 3 {
		if r := b.get(a.URL + "/api"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `"sub":"alice"`) {
			t.Fatalf("API call after expiry: %d %s", r.StatusCode, r.body)
		}
	}
	if got := e.grantCount("refresh_token"); got != 1 {
		t.Errorf("%d refresh requests; want 1 (later requests use the refreshed token from the session)", got)
	}
}

// TestTimeouts checks the idle and absolute timeouts on the fake clock.
func TestTimeouts(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil, web.WithProvider(e.devProvider()), web.Timeouts(time.Hour, 3*time.Hour))
	t.Run("idle", func(t *testing.T) {
		b := newBrowser(t)
		b.signIn(a, "")
		for range 4 { // active for two hours: still signed in
			e.clock.Advance(30 * time.Minute)
			b.wantSignedIn(a)
		}
		e.clock.Advance(61 * time.Minute)
		b.wantSignedOut(a)
	})
	t.Run("absolute", func(t *testing.T) {
		b := newBrowser(t)
		b.signIn(a, "")
		for range 5 {
			e.clock.Advance(30 * time.Minute)
			b.wantSignedIn(a)
		}
		e.clock.Advance(31 * time.Minute) // 3h01m after sign-in, 31 minutes idle
		b.wantSignedOut(a)
	})
}

// TestTimeoutsWithoutStoreExpiry checks that the Web itself ends a session at
// its idle and absolute timeouts, though the session was served from memory a
// moment before and the store (its clock lagging) still returns it.
func TestTimeoutsWithoutStoreExpiry(t *testing.T) {
	e := newEnv(t)
	store, err := sqlitesession.Open(filepath.Join(t.TempDir(), "sessions.db"), sqlitesession.WithKeys(testenv.StoreKey(t)),
		sqlitesession.WithClock(func() time.Time { return fakeclock.Start }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a := e.newApp(store, web.WithProvider(e.devProvider()), web.Timeouts(time.Hour, 3*time.Hour))
	t.Run("idle", func(t *testing.T) {
		b := newBrowser(t)
		b.signIn(a, "")
		b.wantSignedIn(a)
		e.clock.Advance(time.Hour)
		b.wantSignedOut(a)
	})
	t.Run("absolute", func(t *testing.T) {
		b := newBrowser(t)
		b.signIn(a, "")
		for range 6 {
			b.wantSignedIn(a)
			e.clock.Advance(30 * time.Minute)
		}
		b.wantSignedOut(a)
	})
}

// TestOldSessionFormat plants a session in the format before this one (the
// token as a nested document, the ID token twice): the browser is signed
// out cleanly, sent to sign in again, and its cookie cleared.
func TestOldSessionFormat(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	id := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	created := e.clock.Now().UTC().Format(time.RFC3339Nano)
	old := `{"f":1,"c":"` + created + `","s":"` + created + `","p":"dev","sub":"alice","n":"Alice Liddell",` +
		`"x":"csrf","it":"id-token","t":{"f":1,"at":"access","rt":"refresh","it":"id-token"},"tv":1}`
	if _, err := a.store.Save(context.Background(), web.SessionKey(id),
		&web.Record{Subject: "s", Expires: e.clock.Now().Add(time.Hour), Data: []byte(old)}, 0); err != nil {
		t.Fatal(err)
	}
	refusedSession(t, a, id)
}

// TestLogout signs out with the form POST: the session row is deleted, the
// tokens are revoked at the provider, and the browser goes to the provider's
// end_session_endpoint (TestRPInitiatedLogout follows it back home).
func TestLogout(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	b := newBrowser(t)
	b.signIn(a, "")
	id := b.cookie(a, sessionCookie)
	r := b.do("POST", a.URL+"/logout", url.Values{"csrf_token": {b.csrf(a)}}, "Origin: "+a.URL, "Sec-Fetch-Site: same-origin")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), e.dev.URL+"/end_session?") {
		t.Fatalf("logout: %d to %q: %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	b.wantSignedOut(a)
	if a.sessionExists(id) {
		t.Error("the session is still in the store after logout")
	}
	if got := e.pathCount("/revoke"); got != 2 {
		t.Errorf("%d revocation requests; want 2 (refresh token, then access token)", got)
	}
}

// TestSignOutEverywhere ends every session of a user, on every browser.
func TestSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	a := e.newApp(nil)
	laptop, phone := newBrowser(t), newBrowser(t)
	laptop.signIn(a, "")
	phone.signIn(a, "")
	if r := laptop.get(a.URL + "/everywhere"); r.body != "ended 2" {
		t.Fatalf("sign out everywhere: %d %s", r.StatusCode, r.body)
	}
	laptop.wantSignedOut(a)
	phone.wantSignedOut(a)
}
