package devserver_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestLoginAndConsent(t *testing.T) {
	srv := devservertest.NewServer(t, devservertest.WithAutoApprove(false))
	ctx := context.Background()

	t.Run("login page form contract", func(t *testing.T) {
		u, _ := authURL(srv, srv.Public, nil)
		resp, err := noFollow(srv).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		for _, field := range []string{`action="/login"`, `name="username"`, `name="password"`, `name="request_id"`, `name="csrf_token"`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("login page lacks %s", field)
			}
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("X-Frame-Options = %q, want DENY", got)
		}
	})

	t.Run("approve", func(t *testing.T) {
		u, _ := authURL(srv, srv.Public, url.Values{"scope": {"openid profile"}})
		cb := srv.Authorize(t, u)
		q := cb.Query()
		if q.Get("code") == "" || q.Get("state") != "xyz" || q.Get("iss") != srv.URL {
			t.Errorf("callback = %s, want code, state and iss", cb)
		}
	})

	t.Run("deny", func(t *testing.T) {
		b := srv.Browser()
		b.Deny = true
		u, _ := authURL(srv, srv.Public, nil)
		cb, err := b.Authorize(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cb.Query().Get("error"), "access_denied"; got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
		if got, want := cb.Query().Get("state"), "xyz"; got != want {
			t.Errorf("state = %q, want %q", got, want)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		b := devserver.NewBrowser(srv.HTTPClient(), srv.User.Username, "not-the-password")
		u, _ := authURL(srv, srv.Public, nil)
		_, err := b.Authorize(ctx, u)
		if err == nil || !strings.Contains(err.Error(), "Wrong username or password") {
			t.Errorf("err = %v, want the login page's error", err)
		}
	})

	t.Run("session skips the login page", func(t *testing.T) {
		b := srv.Browser()
		u, _ := authURL(srv, srv.Public, nil)
		if _, err := b.Authorize(ctx, u); err != nil {
			t.Fatal(err)
		}
		b.Password = "forgotten"
		u, _ = authURL(srv, srv.Public, nil)
		if _, err := b.Authorize(ctx, u); err != nil {
			t.Errorf("second authorization with a session: %v", err)
		}
	})

	t.Run("max_age asks for a fresh login", func(t *testing.T) {
		// OpenID Connect Core section 3.1.2.1: a session older than max_age
		// seconds does not count; the user logs in again.
		b := srv.Browser()
		u, _ := authURL(srv, srv.Public, nil)
		if _, err := b.Authorize(ctx, u); err != nil {
			t.Fatal(err)
		}
		b.Password = "forgotten"
		u, _ = authURL(srv, srv.Public, url.Values{"max_age": {"3600"}})
		if _, err := b.Authorize(ctx, u); err != nil {
			t.Errorf("max_age=3600 with a fresh session: %v", err)
		}
		u, _ = authURL(srv, srv.Public, url.Values{"max_age": {"0"}})
		if _, err := b.Authorize(ctx, u); err == nil || !strings.Contains(err.Error(), "Wrong username or password") {
			t.Errorf("max_age=0 with a session: err = %v, want the login page", err)
		}
		u, _ = authURL(srv, srv.Public, url.Values{"max_age": {"-1"}})
		cb, err := b.Authorize(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cb.Query().Get("error"), "invalid_request"; got != want {
			t.Errorf("max_age=-1: error = %q, want %q", got, want)
		}
	})

	t.Run("prompt=none without a session", func(t *testing.T) {
		u, _ := authURL(srv, srv.Public, url.Values{"prompt": {"none"}})
		resp, err := noFollow(srv).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := loc.Query().Get("error"), "login_required"; got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
	})

	t.Run("forged csrf_token", func(t *testing.T) {
		u, _ := authURL(srv, srv.Public, nil)
		resp, err := noFollow(srv).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		reqID := between(string(b), `name="request_id" value="`, `"`)
		r := post(t, srv, "/login", nil, url.Values{"request_id": {reqID}, "csrf_token": {"forged"},
			"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}})
		if got, want := r.status, http.StatusBadRequest; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if strings.Contains(r.raw, `id="consent"`) {
			t.Errorf("a forged csrf_token reached the consent page")
		}
	})
}

func TestSessionCookie(t *testing.T) {
	for _, tt := range []struct {
		issuer string
		secure bool
	}{{"", false}, {"https://idp.example", true}} {
		t.Run("issuer "+tt.issuer, func(t *testing.T) {
			srv := devservertest.NewServer(t, devservertest.WithAutoApprove(false), func(o *devserver.Options) {
				if tt.issuer != "" {
					o.Issuer = tt.issuer
				}
			})
			u, _ := authURL(srv, srv.Public, nil)
			b := newTab(t, srv)
			page := b.get(t, u)
			r := b.post(t, "/login", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
				"username": {srv.User.Username}, "password": {srv.User.Password.Reveal()}})
			wantOK(t, r, http.StatusOK)
			var session *http.Cookie
			for _, c := range (&http.Response{Header: r.header}).Cookies() {
				if c.Name == "pixie_devserver_session" {
					session = c
				}
			}
			if session == nil {
				t.Fatalf("login set no session cookie: %v", r.header["Set-Cookie"])
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie %v is not HttpOnly and SameSite=Lax", session)
			}
			if got, want := session.Secure, tt.secure; got != want {
				t.Errorf("session cookie Secure = %v, want %v for issuer %s", got, want, srv.Issuer())
			}
		})
	}
}

func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestPasswordGuessing checks the limit on wrong passwords: five within ten
// minutes lock that user name out of every sign-in (login page, device page,
// password grant) for fifteen minutes, the right password included, while
// other users sign in; a right password before the limit clears the count.
func TestPasswordGuessing(t *testing.T) {
	clk := newClock()
	bob := devserver.User{Username: "bob", Password: secret("builder")}
	srv := devservertest.NewServer(t, withClock(clk), devservertest.WithAutoApprove(false), func(o *devserver.Options) {
		o.Users = append(o.Users, bob)
		o.EnablePassword = true
	})
	// signIn fills a fresh login page in a new browser.
	signIn := func(t *testing.T, username, password string) *response {
		t.Helper()
		b := newTab(t, srv)
		u, _ := authURL(srv, srv.Public, nil)
		page := b.get(t, u)
		return b.post(t, "/login", url.Values{"request_id": {hidden(page, "request_id")}, "csrf_token": {hidden(page, "csrf_token")},
			"username": {username}, "password": {password}})
	}
	want := func(t *testing.T, r *response, status int, text string) {
		t.Helper()
		if r.status != status || !strings.Contains(r.raw, text) {
			t.Fatalf("got HTTP %d:\n%s\nwant HTTP %d with %q", r.status, r.raw, status, text)
		}
	}
	const wrong, locked = "Wrong username or password", "Too many wrong passwords"
	alice := srv.User

	for range 4 {
		want(t, signIn(t, alice.Username, "guess"), http.StatusUnauthorized, wrong)
	}
	want(t, signIn(t, alice.Username, "guess"), http.StatusTooManyRequests, locked)
	t.Run("the right password is refused while locked out", func(t *testing.T) {
		want(t, signIn(t, alice.Username, alice.Password.Reveal()), http.StatusTooManyRequests, locked)
	})
	t.Run("the device page and the password grant share the count", func(t *testing.T) {
		b := newTab(t, srv)
		page := b.get(t, "/device")
		want(t, b.post(t, "/device", formOf("csrf_token", hidden(page, "csrf_token"), "action", "continue",
			"username", alice.Username, "password", alice.Password.Reveal())), http.StatusTooManyRequests, locked)
		r := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "password", "username", alice.Username, "password", alice.Password.Reveal()))
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if !strings.Contains(r.str("error_description"), locked) {
			t.Errorf("error_description = %q, want the lockout", r.str("error_description"))
		}
	})
	t.Run("other users are not affected", func(t *testing.T) {
		want(t, signIn(t, bob.Username, bob.Password.Reveal()), http.StatusOK, `id="consent"`)
	})
	t.Run("a right password clears the count", func(t *testing.T) {
		for range 4 {
			want(t, signIn(t, bob.Username, "guess"), http.StatusUnauthorized, wrong)
		}
		want(t, signIn(t, bob.Username, bob.Password.Reveal()), http.StatusOK, `id="consent"`)
		want(t, signIn(t, bob.Username, "guess"), http.StatusUnauthorized, wrong)
	})
	t.Run("the lockout ends", func(t *testing.T) {
		clk.Advance(15 * time.Minute)
		want(t, signIn(t, alice.Username, alice.Password.Reveal()), http.StatusOK, `id="consent"`)
	})
}
