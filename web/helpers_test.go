package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// env is a devserver and a fake clock shared by the apps of a test, and a
// count of the token requests the apps sent.
type env struct {
	t     *testing.T
	clock *fakeclock.Clock
	dev   *devservertest.Server

	mu     sync.Mutex
	grants map[string]int // token requests by grant_type
	paths  map[string]int // requests by path
}

func newEnv(t *testing.T, opts ...devservertest.Option) *env {
	t.Helper()
	e := &env{t: t, clock: fakeclock.New(fakeclock.Start), grants: map[string]int{}, paths: map[string]int{}}
	opts = append([]devservertest.Option{func(o *devserver.Options) { o.Now = e.clock.Now }}, opts...)
	e.dev = devservertest.NewServer(t, opts...)
	return e
}

// grantCount returns how many token requests of grantType the apps sent.
func (e *env) grantCount(grantType string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.grants[grantType]
}

// pathCount returns how many requests the apps sent to the devserver's path.
func (e *env) pathCount(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.paths[path]
}

// httpClient is the apps' client for the devserver: it counts token requests.
func (e *env) httpClient() *http.Client {
	return &http.Client{Transport: countingTransport{e: e, base: e.dev.HTTPClient().Transport}}
}

type countingTransport struct {
	e    *env
	base http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.e.mu.Lock()
	c.e.paths[r.URL.Path]++
	c.e.mu.Unlock()
	if r.URL.Path == "/token" && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			body, _ := io.ReadAll(b)
			form, _ := url.ParseQuery(string(body))
			c.e.mu.Lock()
			c.e.grants[form.Get("grant_type")]++
			c.e.mu.Unlock()
		}
	}
	base := c.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// sqliteStore opens a session store in a new file.
func (e *env) sqliteStore() *sqlitesession.Store {
	return e.openSQLite(filepath.Join(e.t.TempDir(), "sessions.db"), testenv.StoreKey(e.t))
}

func (e *env) openSQLite(path, key string) *sqlitesession.Store {
	e.t.Helper()
	s, err := sqlitesession.Open(path, sqlitesession.WithKeys(key), sqlitesession.WithClock(e.clock.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// app is a web app under test, served on a loopback port.
type app struct {
	e     *env
	web   *web.Web
	store web.SessionStore
	srv   *httptest.Server
	URL   string
}

// devProvider is the devserver's confidential client as a web.Provider,
// discovered from its issuer.
func (e *env) devProvider() web.Provider {
	return web.Provider{Name: "dev", Config: pixie.Config{
		ClientID: e.dev.Confidential.ID, ClientSecret: e.dev.Confidential.Secret,
		Endpoint: pixie.Endpoint{Issuer: e.dev.URL}, HTTPClient: e.httpClient()}}
}

// newApp starts an app with the session store and options given (a new
// SQLite store when store is nil), and the dev provider unless opts add
// providers.
func (e *env) newApp(store web.SessionStore, opts ...web.Option) *app {
	e.t.Helper()
	return e.newAppAt("", store, opts...)
}

// newAppAt is newApp with the BaseURL baseURL ("": the app's own URL), for
// replicas that serve one URL.
func (e *env) newAppAt(baseURL string, store web.SessionStore, opts ...web.Option) *app {
	e.t.Helper()
	if store == nil {
		store = e.sqliteStore()
	}
	srv := httptest.NewUnstartedServer(nil)
	a := &app{e: e, store: store, srv: srv, URL: "http://" + srv.Listener.Addr().String()}
	if baseURL == "" {
		baseURL = a.URL
	}
	base := []web.Option{web.BaseURL(baseURL), web.Store(store), web.Clock(e.clock.Now)}
	if len(opts) == 0 {
		opts = []web.Option{web.WithProvider(e.devProvider())}
	}
	w, err := web.New(context.Background(), append(base, opts...)...)
	if err != nil {
		srv.Close()
		e.t.Fatal(err)
	}
	a.web = w
	srv.Config.Handler = a.routes()
	srv.Start()
	e.t.Cleanup(srv.Close)
	return a
}

// routes are the test app's pages.
func (a *app) routes() http.Handler {
	w := a.web
	mux := http.NewServeMux()
	mux.Handle("/login", w.Login())
	mux.Handle("/callback", w.Callback())
	mux.Handle("/logout", w.Logout())
	mux.Handle("GET /{$}", w.Optional(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u := web.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(rw, "signed in as %s", u.Name)
			return
		}
		fmt.Fprint(rw, "signed out")
	})))
	mux.Handle("/private", w.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u := web.UserFrom(r.Context())
		fmt.Fprintf(rw, "name=%s email=%s sub=%s provider=%s csrf=%s", u.Name, u.Email, u.Subject, u.Provider, web.CSRFToken(r))
	})))
	mux.Handle("/api", w.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		resp, err := web.UserFrom(r.Context()).Client().Get(a.e.dev.URL + "/userinfo")
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rw.WriteHeader(resp.StatusCode)
		io.Copy(rw, resp.Body)
	})))
	mux.Handle("/everywhere", w.Require(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n, err := w.SignOutEverywhere(r.Context(), web.UserFrom(r.Context()))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(rw, "ended %d", n)
	})))
	return mux
}

// browser is a user's browser against apps: it keeps cookies and does not
// follow redirects.
type browser struct {
	t   *testing.T
	jar *cookiejar.Jar
	c   *http.Client

	seen strings.Builder // every response's headers and body
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is a read response.
type response struct {
	*http.Response
	body string
}

// do sends a request; header holds extra headers ("Name: value").
func (b *browser) do(method, target string, form url.Values, header ...string) *response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	resp.Header.Write(&b.seen)
	b.seen.Write(rb)
	return &response{Response: resp, body: string(rb)}
}

func (b *browser) get(target string, header ...string) *response {
	b.t.Helper()
	return b.do(http.MethodGet, target, nil, header...)
}

// cookie returns the value of the browser's cookie called name for a.
func (b *browser) cookie(a *app, name string) string {
	u, _ := url.Parse(a.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie plants a cookie for a, as an attacker able to write cookies
// could.
func (b *browser) setCookie(a *app, name, value string) {
	u, _ := url.Parse(a.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// startLogin opens a's Login (with query) and returns the authorization URL
// it redirects to.
func (b *browser) startLogin(a *app, query string) string {
	b.t.Helper()
	r := b.get(a.URL + "/login" + query)
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("GET /login%s: %d %s", query, r.StatusCode, r.body)
	}
	return r.Header.Get("Location")
}

// callbackURL starts a login and plays the user at the devserver, returning
// the callback URL the devserver sends the browser to.
func (b *browser) callbackURL(a *app, query string) *url.URL {
	b.t.Helper()
	return a.e.dev.Authorize(b.t, b.startLogin(a, query))
}

// signIn signs in at a and returns the callback's response.
func (b *browser) signIn(a *app, query string) *response {
	b.t.Helper()
	r := b.get(b.callbackURL(a, query).String())
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("callback: %d %s", r.StatusCode, r.body)
	}
	return r
}

// home returns what a's home page says about the browser's user.
func (b *browser) home(a *app) string {
	b.t.Helper()
	return b.get(a.URL + "/").body
}

// wantSignedIn fails the test unless the browser is signed in at a.
func (b *browser) wantSignedIn(a *app) {
	b.t.Helper()
	if got := b.home(a); got != "signed in as Alice Liddell" {
		b.t.Fatalf("home page says %q; want signed in as Alice Liddell", got)
	}
}

func (b *browser) wantSignedOut(a *app) {
	b.t.Helper()
	if got := b.home(a); got != "signed out" {
		b.t.Fatalf("home page says %q; want signed out", got)
	}
}

// refusedSession sends a new browser with the session cookie value to a's
// private page: it must be sent to sign in, and its cookie cleared.
func refusedSession(t *testing.T, a *app, value string) *browser {
	t.Helper()
	b := newBrowser(t)
	b.setCookie(a, sessionCookie, value)
	r := b.get(a.URL + "/private")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("private page with a refused session cookie: %d to %q; want 303 to /login", r.StatusCode, r.Header.Get("Location"))
	}
	if got := b.cookie(a, sessionCookie); got != "" {
		t.Errorf("the session cookie %q is kept; want it cleared", got)
	}
	return b
}

// csrf returns the session's CSRF token, read from the private page.
func (b *browser) csrf(a *app) string {
	b.t.Helper()
	r := b.get(a.URL + "/private")
	_, tok, ok := strings.Cut(r.body, "csrf=")
	if !ok || tok == "" {
		b.t.Fatalf("no CSRF token on the private page: %d %s", r.StatusCode, r.body)
	}
	return tok
}

// sessionExists reports whether a's store holds a session for id.
func (a *app) sessionExists(id string) bool {
	a.e.t.Helper()
	_, _, err := a.store.Load(context.Background(), web.SessionKey(id))
	return err == nil
}

const sessionCookie = "pixie-session"

// httptestRecorder serves one request to h and returns the recorder.
func httptestRecorder(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}
