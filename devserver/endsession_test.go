package devserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

// rpBye is where the relying party of these tests wants the browser after
// signing out.
const rpBye = "https://rp.example/bye"

// logoutEnv is a devserver with a relying party "rp" that registered rpBye as
// its post-logout redirect URI, and "other" that registered another.
type logoutEnv struct {
	srv   *devservertest.Server
	clock *fakeclock.Clock
}

func newLogoutEnv(t *testing.T) *logoutEnv {
	clock := newClock()
	rp := devserver.Client{ID: "rp", Secret: pixie.NewSecret("rp-secret"), RedirectURIs: []string{devservertest.RedirectURL},
		PostLogoutRedirectURIs: []string{rpBye}}
	other := devserver.Client{ID: "other", Secret: pixie.NewSecret("other-secret"), RedirectURIs: []string{devservertest.RedirectURL},
		PostLogoutRedirectURIs: []string{"https://other.example/bye"}}
	srv := devservertest.NewServer(t, withClock(clock), devservertest.WithAutoApprove(false), func(o *devserver.Options) {
		o.Clients = append(o.Clients, rp, other)
	})
	return &logoutEnv{srv: srv, clock: clock}
}

// signIn signs a new browser in for client c and returns the browser and
// the token response (with an ID token).
func (e *logoutEnv) signIn(t *testing.T, c devserver.Client) (*devserver.Browser, *response) {
	t.Helper()
	b := e.srv.Browser()
	u, verifier := authURL(e.srv, c, url.Values{"scope": {"openid"}})
	cb, err := b.Authorize(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	r := post(t, e.srv, "/token", &c, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}})
	wantOK(t, r, http.StatusOK)
	if r.str("id_token") == "" {
		t.Fatal("the token response has no ID token")
	}
	return b, r
}

// signedIn reports whether b still has a session at the server: whether an
// authorization goes through without the password.
func (e *logoutEnv) signedIn(t *testing.T, b *devserver.Browser) bool {
	t.Helper()
	password := b.Password
	b.Password = "not-the-password"
	defer func() { b.Password = password }()
	u, _ := authURL(e.srv, e.srv.Public, nil)
	_, err := b.Authorize(context.Background(), u)
	return err == nil
}

// endSession sends params to the end_session_endpoint as b (GET, or POST as
// a form), without following a redirect.
func endSession(t *testing.T, srv *devservertest.Server, b *devserver.Browser, method string, params url.Values) *response {
	t.Helper()
	c := *devserver.BrowserClient(b)
	target, body := srv.URL+"/end_session?"+params.Encode(), ""
	if method == http.MethodPost {
		target, body = srv.URL+"/end_session", params.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return send(t, &c, req)
}

// wantRedirect checks that the endpoint sent the browser to target.
func wantRedirect(t *testing.T, r *response, target string) {
	t.Helper()
	if got := r.header.Get("Location"); r.status != http.StatusFound || got != target {
		t.Errorf("got HTTP %d to %q %s, want %d to %s", r.status, got, r.raw, http.StatusFound, target)
	}
}

// wantSignedOutPage checks the page shown instead of a redirect.
func wantSignedOutPage(t *testing.T, r *response, status int) {
	t.Helper()
	if r.status != status || r.header.Get("Location") != "" || !strings.Contains(r.raw, "You are signed out") {
		t.Errorf("got HTTP %d (Location %q) %s, want %d and the signed-out page", r.status, r.header.Get("Location"), r.raw, status)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want the pages' policy", csp)
	}
}

// TestEndSessionDiscovery: the discovery document advertises the endpoint
// (OpenID Connect RP-Initiated Logout 1.0 section 2.1).
func TestEndSessionDiscovery(t *testing.T) {
	srv := devservertest.NewServer(t)
	if got, want := srv.Metadata()["end_session_endpoint"], srv.URL+"/end_session"; got != want {
		t.Errorf("end_session_endpoint = %v, want %s", got, want)
	}
}

// TestEndSession checks the rules of the end_session_endpoint: the browser's
// session ends; the browser goes back only to a post_logout_redirect_uri
// registered for the client id_token_hint names, with state; and a hint that
// is not an ID token of this server is refused.
func TestEndSession(t *testing.T) {
	e := newLogoutEnv(t)
	rp := mustClient(t, e.srv, "rp")

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method+" redirects with state and ends the session", func(t *testing.T) {
			b, tok := e.signIn(t, rp)
			if !e.signedIn(t, b) {
				t.Fatal("no session after signing in")
			}
			r := endSession(t, e.srv, b, method, url.Values{"id_token_hint": {tok.str("id_token")},
				"post_logout_redirect_uri": {rpBye}, "state": {"st-1"}})
			wantRedirect(t, r, rpBye+"?state=st-1")
			if e.signedIn(t, b) {
				t.Error("the browser is still signed in at the server")
			}
		})
	}

	t.Run("the session is forgotten, not only its cookie", func(t *testing.T) {
		b, tok := e.signIn(t, rp)
		u, _ := url.Parse(e.srv.URL)
		kept := devserver.NewBrowser(e.srv.HTTPClient(), "alice", "not-the-password")
		devserver.BrowserClient(kept).Jar.SetCookies(u, devserver.BrowserClient(b).Jar.Cookies(u))
		if !e.signedIn(t, kept) {
			t.Fatal("a copy of the session cookie does not sign in")
		}
		endSession(t, e.srv, b, http.MethodGet, url.Values{"id_token_hint": {tok.str("id_token")}})
		if e.signedIn(t, kept) {
			t.Error("a copy of the ended session's cookie still signs in")
		}
	})

	t.Run("without a redirect, the signed-out page", func(t *testing.T) {
		b, _ := e.signIn(t, rp)
		wantSignedOutPage(t, endSession(t, e.srv, b, http.MethodGet, nil), http.StatusOK)
		if e.signedIn(t, b) {
			t.Error("the browser is still signed in at the server")
		}
	})

	t.Run("client_id alone identifies the client", func(t *testing.T) {
		b, _ := e.signIn(t, rp)
		r := endSession(t, e.srv, b, http.MethodGet, url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {rpBye}})
		wantRedirect(t, r, rpBye)
	})

	t.Run("an expired ID token is a valid hint", func(t *testing.T) {
		b, tok := e.signIn(t, rp)
		e.clock.Advance(2 * time.Hour) // the ID token lives an hour
		r := endSession(t, e.srv, b, http.MethodGet, url.Values{"id_token_hint": {tok.str("id_token")}, "post_logout_redirect_uri": {rpBye}})
		wantRedirect(t, r, rpBye)
	})

	// A redirect to a URI the client did not register is refused: the user is
	// signed out, and stays on the server's page.
	for name, params := range map[string]url.Values{
		"unregistered redirect":            {"client_id": {"rp"}, "post_logout_redirect_uri": {"https://evil.example/bye"}},
		"a prefix of a registered one":     {"client_id": {"rp"}, "post_logout_redirect_uri": {"https://rp.example/"}},
		"another client's redirect":        {"client_id": {"rp"}, "post_logout_redirect_uri": {"https://other.example/bye"}},
		"none registered (the default)":    {"client_id": {"confidential"}, "post_logout_redirect_uri": {devservertest.RedirectURL}},
		"an unknown client":                {"client_id": {"nobody"}, "post_logout_redirect_uri": {rpBye}},
		"a redirect without naming client": {"post_logout_redirect_uri": {rpBye}},
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			b, _ := e.signIn(t, rp)
			r := endSession(t, e.srv, b, http.MethodGet, params)
			wantSignedOutPage(t, r, http.StatusBadRequest)
			if !strings.Contains(r.raw, "not registered") {
				t.Errorf("the page does not say why it does not redirect: %s", r.raw)
			}
			if e.signedIn(t, b) {
				t.Error("the browser is still signed in at the server")
			}
		})
	}

	// A bad hint is refused without signing out.
	_, other := e.signIn(t, mustClient(t, e.srv, "other"))
	forged := forgeIDToken(t, e.srv, map[string]any{"iss": e.srv.URL, "aud": "rp", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix()})
	_, rpTok := e.signIn(t, rp)
	// devservertest servers share their signing keys: only the issuer tells
	// this ID token from one of e.srv.
	_, elsewhere := newLogoutEnv(t).signIn(t, rp)
	for name, params := range map[string]url.Values{
		"not a JWT":                       {"id_token_hint": {"not-a-jwt"}},
		"signed by another key":           {"id_token_hint": {forged}, "post_logout_redirect_uri": {rpBye}},
		"an access token":                 {"id_token_hint": {rpTok.str("access_token")}, "post_logout_redirect_uri": {rpBye}},
		"an altered ID token":             {"id_token_hint": {alter(t, rpTok.str("id_token"))}, "post_logout_redirect_uri": {rpBye}},
		"another server's ID token":       {"id_token_hint": {elsewhere.str("id_token")}, "post_logout_redirect_uri": {rpBye}},
		"client_id not the hint's client": {"id_token_hint": {other.str("id_token")}, "client_id": {"rp"}, "post_logout_redirect_uri": {rpBye}},
	} {
		t.Run("bad hint refused: "+name, func(t *testing.T) {
			b, _ := e.signIn(t, rp)
			r := endSession(t, e.srv, b, http.MethodGet, params)
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(r.raw, "invalid_request") {
				t.Errorf("got HTTP %d (Location %q) %s, want 400 and the error page", r.status, r.header.Get("Location"), r.raw)
			}
			if !e.signedIn(t, b) {
				t.Error("a refused request signed the browser out")
			}
		})
	}

	t.Run("other methods", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/end_session", nil)
		if r := call(t, e.srv, req); r.status != http.StatusMethodNotAllowed {
			t.Errorf("PUT: HTTP %d, want 405", r.status)
		}
	})
}

// alter changes the subject in a JWT's payload and keeps its signature, which
// no longer verifies.
func alter(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = "mallory"
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// forgeIDToken signs claims as an ID token of srv would be (RS256, typ JWT,
// the key ID of srv's RS256 key), but with another key.
func forgeIDToken(t *testing.T, srv *devservertest.Server, claims map[string]any) string {
	t.Helper()
	keys, err := devserver.GenerateSigningKeys()
	if err != nil {
		t.Fatal(err)
	}
	var kid string
	for _, k := range srv.KeySet().Keys {
		if k.Algorithm == string(jose.RS256) {
			kid = k.KeyID
		}
	}
	for _, k := range keys {
		if k.Algorithm == string(jose.RS256) {
			opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid)
			return sign(t, jose.RS256, k.Key, claims, opts)
		}
	}
	t.Fatal("no RS256 key generated")
	return ""
}

func mustClient(t *testing.T, srv *devservertest.Server, id string) devserver.Client {
	t.Helper()
	c, ok := srv.Client(id)
	if !ok {
		t.Fatalf("no client %s", id)
	}
	return c
}

// TestPostLogoutRedirectURIsConfig: the configuration file registers
// post-logout redirect URIs, and a client's are checked like redirect URIs.
func TestPostLogoutRedirectURIsConfig(t *testing.T) {
	o, err := devserver.ParseConfig([]byte(`
issuer: http://127.0.0.1:9000
clients:
  - id: web
    secret: web-secret
    redirect_uris: [http://127.0.0.1:8080/callback]
    post_logout_redirect_uris: [http://127.0.0.1:8080/bye]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Clients[0].PostLogoutRedirectURIs; len(got) != 1 || got[0] != "http://127.0.0.1:8080/bye" {
		t.Errorf("PostLogoutRedirectURIs = %q, want [http://127.0.0.1:8080/bye]", got)
	}
	o.Clients[0].PostLogoutRedirectURIs = []string{"/bye"}
	if _, err := devserver.New(o); err == nil || !strings.Contains(err.Error(), "/bye") {
		t.Errorf("New with a relative post-logout redirect URI: err = %v, want it refused", err)
	}
}
