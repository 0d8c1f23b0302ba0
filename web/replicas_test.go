package web_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/redissession"
)

// TestReplicas runs two app instances on one session store, as two processes
// (SQLite: two opens of one file) or two replicas (Redis) would: a session
// made by one is used by the other, and when the access token expires,
// concurrent API calls on both refresh it exactly once.
func TestReplicas(t *testing.T) {
	sharedStores(t, testReplicas)
}

// TestSignOutOnAnotherInstance signs out on one instance a session the other
// instance has just served (and so holds decoded in memory): the other
// refuses it at its next request, for a sign-out and for a sign-out
// everywhere.
func TestSignOutOnAnotherInstance(t *testing.T) {
	sharedStores(t, func(t *testing.T, e *env, s1, s2 web.SessionStore) {
		one := e.newApp(s1)
		two := e.newAppAt(one.URL, s2)
		t.Run("logout", func(t *testing.T) {
			b, id := signedInOnBoth(t, one, two)
			r := b.do("POST", one.URL+"/logout", url.Values{"csrf_token": {b.csrf(one)}}, "Origin: "+one.URL, "Sec-Fetch-Site: same-origin")
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %d %s", r.StatusCode, r.body)
			}
			wantRefused(t, two, id)
		})
		t.Run("everywhere", func(t *testing.T) {
			b, id := signedInOnBoth(t, one, two)
			if r := b.get(one.URL + "/everywhere"); r.StatusCode != http.StatusOK {
				t.Fatalf("sign out everywhere: %d %s", r.StatusCode, r.body)
			}
			wantRefused(t, two, id)
		})
	})
}

// signedInOnBoth signs a browser in at one and checks that two serves its
// session, several times, and returns the browser and the session id.
func signedInOnBoth(t *testing.T, one, two *app) (*browser, string) {
	t.Helper()
	b := newBrowser(t)
	b.signIn(one, "")
	id := b.cookie(one, sessionCookie)
	other := newBrowser(t)
	other.setCookie(two, sessionCookie, id)
	for range 3 {
		other.wantSignedIn(two)
	}
	return b, id
}

// wantRefused fails the test unless a's API refuses the session id.
func wantRefused(t *testing.T, a *app, id string) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.URL+"/private", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the other instance answers %s for the ended session; want 401", resp.Status)
	}
}

// sharedStores runs f with two session stores that share their sessions:
// two opens of one SQLite file, as two processes of one machine have, and two
// clients of one Redis (when PIXIE_TEST_REDIS_ADDR is set), as replicas have.
func sharedStores(t *testing.T, f func(t *testing.T, e *env, s1, s2 web.SessionStore)) {
	t.Run("SQLite", func(t *testing.T) {
		e := newEnv(t)
		path, key := filepath.Join(t.TempDir(), "sessions.db"), testenv.StoreKey(t)
		f(t, e, e.openSQLite(path, key), e.openSQLite(path, key))
	})
	t.Run("Redis", func(t *testing.T) {
		addr := os.Getenv("PIXIE_TEST_REDIS_ADDR")
		if addr == "" {
			t.Skip("set PIXIE_TEST_REDIS_ADDR (scripts/with-redis starts redis-server) to run the Redis tests")
		}
		e := newEnv(t)
		prefix, key := "pixietest:"+rand.Text()+":", testenv.StoreKey(t)
		open := func() web.SessionStore {
			c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { c.Close() })
			s, err := redissession.New(c, redissession.WithPrefix(prefix), redissession.WithKeys(key), redissession.WithClock(e.clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		f(t, e, open(), open())
	})
}

func testReplicas(t *testing.T, e *env, s1, s2 web.SessionStore) {
	one := e.newApp(s1)
	// The second instance has the first's BaseURL, as behind a load
	// balancer.
	two := e.newAppAt(one.URL, s2)

	b := newBrowser(t)
	b.signIn(one, "")
	id := b.cookie(one, sessionCookie)
	other := newBrowser(t)
	other.setCookie(two, sessionCookie, id)
	other.wantSignedIn(two)

	e.clock.Advance(2 * time.Hour) // the access token expired
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range 20 {
		wg.Go(func() {
			a := one
			if i%2 == 1 {
				a = two
			}
			req, _ := http.NewRequest("GET", a.URL+"/api", nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
			resp, err := client.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			var u struct{ Sub string }
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&u) != nil || u.Sub != "alice" {
				errs <- resp.Status
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Errorf("API call after expiry: %s", msg)
	}
	if got := e.grantCount("refresh_token"); got != 1 {
		t.Errorf("%d refresh requests across both instances; want 1", got)
	}
}

// TestProviders offers two providers at once: the devserver as an OpenID
// provider found by discovery, and the devserver as a GitHub-like OAuth
// provider whose user API answers a numeric id and a login.
func TestProviders(t *testing.T) {
	e := newEnv(t)
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// A user API like GitHub's: it checks the token at the devserver's
		// introspection endpoint.
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		cfg := e.dev.Config(e.dev.Confidential)
		info, err := cfg.Introspect(r.Context(), pixie.NewSecret(tok), "")
		if !ok || err != nil || !info.Active {
			http.Error(rw, "bad token", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(rw).Encode(map[string]any{"id": 4242, "login": info.Username, "email": nil})
	}))
	t.Cleanup(api.Close)
	octo := web.Provider{Name: "octo", UserURL: api.URL, Config: pixie.Config{
		ClientID: e.dev.Confidential.ID, ClientSecret: e.dev.Confidential.Secret, Scopes: []string{"profile"},
		Endpoint: pixie.Endpoint{Issuer: e.dev.URL}, HTTPClient: e.httpClient()}}
	a := e.newApp(nil, web.WithProvider(e.devProvider()), web.WithProvider(octo))

	if got := a.web.Providers(); len(got) != 2 || got[0] != "dev" || got[1] != "octo" {
		t.Errorf("Providers() = %q", got)
	}
	b := newBrowser(t)
	page := b.get(a.URL + "/login?return_to=/private").body
	for _, want := range []string{`href="/login?provider=dev&amp;return_to=%2Fprivate"`, `href="/login?provider=octo&amp;return_to=%2Fprivate"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the provider choice lacks %s: %s", want, page)
		}
	}
	b.signIn(a, "?provider=octo")
	if got := b.get(a.URL + "/private").body; !strings.Contains(got, "name=alice email= sub=4242 provider=octo") {
		t.Errorf("signed in with octo: %q", got)
	}
	b.signIn(a, "?provider=dev")
	if got := b.get(a.URL + "/private").body; !strings.Contains(got, "name=Alice Liddell email=alice@example.test sub=alice provider=dev") {
		t.Errorf("signed in with dev: %q", got)
	}
	if r := b.get(a.URL + "/login?provider=nope"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown provider: %d", r.StatusCode)
	}
}

// TestRPInitiatedLogout signs out at the devserver's end_session_endpoint
// (OpenID Connect RP-Initiated Logout 1.0 section 2): the browser is sent
// there with id_token_hint, client_id and post_logout_redirect_uri, and the
// devserver sends it back to the AfterLogout page the client registered.
func TestRPInitiatedLogout(t *testing.T) {
	e := newEnv(t)
	rp := devserver.Client{ID: "rp", Secret: pixie.NewSecret("rp-secret"), RedirectURIs: []string{devservertest.RedirectURL}}
	p := web.Provider{Name: "dev", Config: pixie.Config{ClientID: rp.ID, ClientSecret: rp.Secret,
		Endpoint: pixie.Endpoint{Issuer: e.dev.URL}, HTTPClient: e.httpClient()}}
	a := e.newApp(nil, web.WithProvider(p), web.AfterLogout("/bye"))
	rp.PostLogoutRedirectURIs = []string{a.URL + "/bye"} // known once the app listens
	if err := e.dev.AddClient(rp); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(a, "")
	b.wantSignedIn(a)
	r := b.do("POST", a.URL+"/logout", map[string][]string{"csrf_token": {b.csrf(a)}}, "Sec-Fetch-Site: same-origin")
	loc, err := r.Location()
	if err != nil {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), e.dev.URL+"/end_session?") || q.Get("client_id") != "rp" ||
		q.Get("post_logout_redirect_uri") != a.URL+"/bye" || strings.Count(q.Get("id_token_hint"), ".") != 2 {
		t.Errorf("logout sent the browser to %s", loc)
	}
	b.wantSignedOut(a)
	r = b.get(loc.String())
	if got, want := r.Header.Get("Location"), a.URL+"/bye"; r.StatusCode != http.StatusFound || got != want {
		t.Errorf("the end_session_endpoint answered %d to %q %s, want %d to %s", r.StatusCode, got, r.body, http.StatusFound, want)
	}
}
