package browsertest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/examples/webapp/app"
	"github.com/pixieauth/pixie/internal/browsertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/redissession"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// accessTTL is the devserver's access token lifetime in the web app tests;
// the tests move the shared clock past it instead of waiting.
const accessTTL = 5 * time.Minute

// sessionKey is the sealing key of the app's session stores in these tests.
const sessionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// webappEnv is what a run of the example app needs: a devserver that shows its
// real login and consent pages and knows the app as a client, and the clock
// the devserver, the app and its session store share.
type webappEnv struct {
	ds    *devservertest.Server
	clock *fakeclock.Clock
	// client is the app's client at the devserver.
	client devserver.Client
	// appURL is where the browser opens the app. It names the host localhost
	// while the devserver is at 127.0.0.1, so that the app and the provider
	// are different sites to the browser, as they are in production, and
	// the session cookie's SameSite=Lax must let the callback through.
	appURL string
}

// newWebappEnv starts a devserver for an app to be served by the listener of
// srv, which is not started yet.
func newWebappEnv(t *testing.T, srv *httptest.Server) *webappEnv {
	t.Helper()
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	e := &webappEnv{clock: fakeclock.New(time.Now()), appURL: "http://localhost:" + port}
	e.client = devserver.Client{ID: "webapp", Secret: pixie.NewSecret("webapp-secret"), Name: "pixie web app example",
		RedirectURIs: []string{e.appURL + "/callback"}, PostLogoutRedirectURIs: []string{e.appURL + "/"}}
	e.ds = devservertest.NewServer(t, devservertest.WithAutoApprove(false), func(o *devserver.Options) {
		o.Clients = append(o.Clients, e.client)
		o.AccessTokenTTL = accessTTL
		o.Now = e.clock.Now
	})
	return e
}

// newApp returns an instance of the example app at e.appURL with its sessions
// in store.
func (e *webappEnv) newApp(t *testing.T, store web.SessionStore) http.Handler {
	t.Helper()
	h, err := app.New(context.Background(), app.Config{BaseURL: e.appURL, Issuer: e.ds.URL,
		ClientID: e.client.ID, ClientSecret: e.client.Secret, Store: store, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestWebappInChromium drives the example app in Chromium through a whole
// session: sign in at the devserver's real pages, the API called with the
// user's token, the token expiring and renewed on the server, and sign-out
// removing the session from the store. Once with the sessions in SQLite and
// one app, once in Redis with two instances of the app behind one URL.
func TestWebappInChromium(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		b := browsertest.New(t)
		srv := httptest.NewUnstartedServer(nil)
		e := newWebappEnv(t, srv)
		store, err := sqlitesession.Open(filepath.Join(t.TempDir(), "sessions.db"),
			sqlitesession.WithKeys(sessionKey), sqlitesession.WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		srv.Config.Handler = e.newApp(t, store)
		srv.Start()
		t.Cleanup(srv.Close)
		runWebapp(t, b, e, store)
	})

	t.Run("redis-two-instances", func(t *testing.T) {
		addr := testenv.RedisAddr(t)
		b := browsertest.New(t)
		proxy := httptest.NewUnstartedServer(nil)
		e := newWebappEnv(t, proxy)
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { rdb.Close() })
		prefix := fmt.Sprintf("pixie-browsertest-%d:", time.Now().UnixNano())
		t.Cleanup(func() { deleteRedisKeys(rdb, prefix) })
		var (
			backends []string
			store    web.SessionStore
			mu       sync.Mutex
			servedBy = map[string][]int{} // path: the instances that served it, in order
		)
		for i := range 2 {
			// Each instance has its own store over the shared Redis, as
			// replicas do.
			s, err := redissession.New(rdb, redissession.WithKeys(sessionKey),
				redissession.WithPrefix(prefix), redissession.WithClock(e.clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			store = s
			h := e.newApp(t, s)
			inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				servedBy[r.URL.Path] = append(servedBy[r.URL.Path], i)
				mu.Unlock()
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(inst.Close)
			backends = append(backends, inst.URL)
		}
		proxy.Config.Handler = alternate(t, backends...)
		proxy.Start()
		t.Cleanup(proxy.Close)
		runWebapp(t, b, e, store)
		// The sign-in ended on the other instance than it started on, and the
		// API calls before and after the token expired went to different
		// instances: the session, the pending login and the renewal lived in
		// Redis, not in either instance.
		mu.Lock()
		defer mu.Unlock()
		login, callback, api := servedBy["/login"], servedBy["/callback"], servedBy["/api/me"]
		if len(login) == 0 || len(callback) != 1 || login[0] == callback[0] {
			t.Errorf("/login was served by instances %v and /callback by %v; want the first sign-in to end on another instance than it started on", login, callback)
		}
		if len(api) != 2 || api[0] == api[1] {
			t.Errorf("the API calls were served by instances %v; want two, by different instances", api)
		}
	})
}

// runWebapp plays a user of the example app at e.appURL from signed out to
// signed out again, with a screenshot per step; store is the app's session
// store.
func runWebapp(t *testing.T, b *browsertest.Browser, e *webappEnv, store web.SessionStore) {
	t.Helper()
	// A viewport tall enough that each screenshot shows the whole signed-in
	// page, claims, API answer and "Sign out" included.
	b.Step("signed out", chromedp.EmulateViewport(1000, 920), chromedp.Navigate(e.appURL),
		chromedp.WaitVisible(chromedp.ID("signin")))
	b.Step("devserver login page", chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("username")), chromedp.WaitVisible(chromedp.ID("password")))
	b.Step("devserver consent page",
		chromedp.SendKeys(chromedp.ID("username"), e.ds.User.Username),
		chromedp.SendKeys(chromedp.ID("password"), e.ds.User.Password.Reveal()),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#consent button[value=approve]`)))
	b.Step("signed in", chromedp.Click(chromedp.CSS(`#consent button[value=approve]`)),
		chromedp.WaitVisible(chromedp.ID("user-name")))
	if got, want := b.Text("#user-name"), e.ds.User.Name; got != want {
		t.Errorf("the app shows the user %q, want %q", got, want)
	}
	if u := b.URL(); !strings.HasPrefix(u, e.appURL+"/") {
		t.Errorf("signed in at %s, want a page of the app at %s", u, e.appURL)
	}
	key := appSessionKey(t, b, e.appURL)
	if _, _, err := store.Load(context.Background(), key); err != nil {
		t.Fatalf("the store has no session for the browser's cookie after sign-in: %v", err)
	}

	callAPI(t, b, e, "API answer")
	refreshes := e.ds.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", ClientID: e.client.ID})
	e.clock.Advance(accessTTL)
	callAPI(t, b, e, "API answer after the access token expired")
	if got := e.ds.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", ClientID: e.client.ID}); got != refreshes+1 {
		t.Errorf("the app refreshed the token %d times after it expired, want once", got-refreshes)
	}

	b.Step("signed out again", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
	if _, _, err := store.Load(context.Background(), key); !errors.Is(err, web.ErrNoSession) {
		t.Errorf("after sign-out the store still answers for the session: %v; want web.ErrNoSession", err)
	}
	// Signing out went through the devserver's end_session_endpoint (OpenID
	// Connect RP-Initiated Logout 1.0), which ended the session there too:
	// signing in again asks for the password.
	b.Step("signing in again asks for the password", chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("password")))
	// The app's pages must work as served: no exception, and nothing (script,
	// style, image, connection) refused by their own Content-Security-Policy.
	for _, m := range b.Console() {
		if strings.HasPrefix(m.URL, e.appURL) && (m.IsException() || cspRefusal(m)) {
			t.Errorf("the app's page %s: %s", m.URL, m)
		}
	}
}

// cspRefusal reports whether a console message is the browser refusing
// something a page's Content-Security-Policy does not allow ("Refused to load
// the script ...", "Applying inline style violates the following Content
// Security Policy directive ...").
func cspRefusal(m chromedp.ConsoleMessage) bool {
	return strings.Contains(strings.ToLower(m.Text), "content security policy")
}

// callAPI clicks the app's API button and checks that the API (the
// devserver's userinfo) answered 200 with the user's subject.
func callAPI(t *testing.T, b *browsertest.Browser, e *webappEnv, step string) {
	t.Helper()
	b.Step(step,
		chromedp.Evaluate[chromedp.Void](`delete document.getElementById("api-result").dataset.status`),
		chromedp.Click(chromedp.ID("call-api")),
		chromedp.Poll[chromedp.Void](`document.getElementById("api-result").dataset.status`))
	var answer struct {
		Status int `json:"status"`
		Body   struct {
			Sub  string `json:"sub"`
			Name string `json:"name"`
		} `json:"body"`
	}
	text := browsertest.Eval[string](b, `document.getElementById("api-result").textContent`)
	if err := json.Unmarshal([]byte(text), &answer); err != nil || answer.Status != http.StatusOK || answer.Body.Sub != e.ds.User.Username {
		t.Fatalf("%s: the app shows %q, want status 200 and the user %s", step, text, e.ds.User.Username)
	}
}

// appSessionKey returns the session store's key of the browser's session at
// the app: the SHA-256, in hex, of its HttpOnly session cookie, which only the
// browser's own protocol can read.
func appSessionKey(t *testing.T, b *browsertest.Browser, appURL string) string {
	t.Helper()
	cookies := browsertest.Get(b, "the app's cookies", func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{appURL}})
		return r.Cookies, err
	})
	for _, c := range cookies {
		if c.Name == "pixie-session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
				t.Errorf("the session cookie is HttpOnly=%v SameSite=%s, want HttpOnly and Lax", c.HTTPOnly, c.SameSite)
			}
			sum := sha256.Sum256([]byte(c.Value))
			return hex.EncodeToString(sum[:])
		}
	}
	t.Fatalf("the browser holds no pixie-session cookie for %s", appURL)
	return ""
}

// alternate returns a reverse proxy that sends each request to the next of
// backends in turn, as a round-robin load balancer does, keeping the Host the
// browser asked for. The page's static files (its script and style sheet, the
// favicon) all go to the first backend, so that which instance serves each of
// the app's own requests does not depend on when the browser fetches them.
func alternate(t *testing.T, backends ...string) http.Handler {
	t.Helper()
	var targets []*url.URL
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, u)
	}
	var next atomic.Uint64
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		target := targets[0]
		if !slices.Contains([]string{"/app.js", "/app.css", "/favicon.ico"}, r.In.URL.Path) {
			target = targets[(next.Add(1)-1)%uint64(len(targets))]
		}
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
}

// deleteRedisKeys removes the Redis keys under prefix.
func deleteRedisKeys(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
