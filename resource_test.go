package pixie_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// TestDiscoverResource fetches the devserver's protected resource metadata
// (RFC 9728) from the well-known location and from a challenge.
func TestDiscoverResource(t *testing.T) {
	dev := devservertest.NewServer(t, withResources)
	ctx := context.Background()
	d := &pixie.Discovery{}
	m, err := d.DiscoverResource(ctx, dev.URL+"/api")
	if err != nil {
		t.Fatal(err)
	}
	if m.Resource != dev.URL+"/api" || !slices.Equal(m.AuthorizationServers, []string{dev.URL}) ||
		!slices.Equal(m.ScopesSupported, []string{"api", "admin"}) {
		t.Errorf("metadata = %+v", m)
	}
	resp, err := http.Get(dev.URL + "/api/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := pixie.Challenges(resp.Header)
	if len(ch) != 1 {
		t.Fatalf("challenges = %+v", ch)
	}
	// The API's identifier lies above the URL requested: accepted.
	if m2, err := d.ResourceFromChallenge(ctx, dev.URL+"/api/admin", &ch[0]); err != nil || m2.Resource != dev.URL+"/api" {
		t.Errorf("ResourceFromChallenge = %v, %v", m2, err)
	}
	if _, err := d.ResourceFromChallenge(ctx, dev.URL+"/apis", &ch[0]); err == nil {
		t.Error("metadata for /api accepted for a request to /apis")
	}
}

// resourceServer serves doc (with %s replaced by its own URL) at the
// well-known path for /api and at the well-known path, 401 with a challenge
// naming the former elsewhere, and counts the requests per path.
func resourceServer(t *testing.T, doc string) (*httptest.Server, *sync.Map) {
	t.Helper()
	var hits sync.Map
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.RequestURI(), new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		switch {
		case !strings.HasPrefix(r.URL.Path, "/.well-known/"):
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+srv.URL+`/.well-known/oauth-protected-resource/api"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/.well-known/oauth-protected-resource/api" || r.URL.Path == "/.well-known/oauth-protected-resource/v1/items":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, strings.ReplaceAll(doc, "%s", srv.URL))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestDiscoverResourceRefuses checks section 3.3 and the transport rules: a
// document for another resource, an http resource off loopback, an oversized
// document; and that the well-known path is inserted and documents cached.
func TestDiscoverResourceRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("path insertion and cache", func(t *testing.T) {
		srv, hits := resourceServer(t, `{"resource":"%s/v1/items?x=1","authorization_servers":["https://as.example"]}`)
		d := &pixie.Discovery{}
		for range 2 {
			if _, err := d.DiscoverResource(ctx, srv.URL+"/v1/items?x=1"); err != nil {
				t.Fatal(err)
			}
		}
		n, ok := hits.Load("/.well-known/oauth-protected-resource/v1/items?x=1")
		if !ok || n.(*atomic.Int32).Load() != 1 {
			t.Errorf("well-known fetched %v times, want once at the inserted path", n)
		}
	})
	t.Run("resource mismatch", func(t *testing.T) {
		srv, _ := resourceServer(t, `{"resource":"https://other.example/api","authorization_servers":["https://as.example"]}`)
		_, err := (&pixie.Discovery{}).DiscoverResource(ctx, srv.URL+"/api")
		if err == nil || !strings.Contains(err.Error(), "RFC 9728 section 3.3") {
			t.Errorf("err = %v, want a section 3.3 refusal", err)
		}
		_, err = pixie.ForResource(ctx, srv.URL+"/api/x", pixie.ResourceOptions{})
		if err == nil || !strings.Contains(err.Error(), "RFC 9728 section 3.3") {
			t.Errorf("through the challenge: err = %v, want a section 3.3 refusal", err)
		}
	})
	t.Run("another host through a challenge", func(t *testing.T) {
		srv, _ := resourceServer(t, `{"resource":"http://localhost:1/api","authorization_servers":["https://as.example"]}`)
		u, _ := url.Parse(srv.URL)
		ch := &pixie.Challenge{ResourceMetadata: srv.URL + "/.well-known/oauth-protected-resource/api"}
		if _, err := (&pixie.Discovery{}).ResourceFromChallenge(ctx, "http://"+u.Host+"/api", ch); err == nil {
			t.Error("metadata for another host accepted")
		}
	})
	t.Run("insecure", func(t *testing.T) {
		if _, err := (&pixie.Discovery{}).DiscoverResource(ctx, "http://api.example/v1"); err == nil || !strings.Contains(err.Error(), "http://") {
			t.Errorf("err = %v, want http refused off loopback", err)
		}
		srv, _ := resourceServer(t, `{"resource":"%s/api","authorization_servers":["http://as.example"]}`)
		if _, err := (&pixie.Discovery{}).DiscoverResource(ctx, srv.URL+"/api"); err == nil || !strings.Contains(err.Error(), "authorization_servers[0]") {
			t.Errorf("err = %v, want the http authorization server refused", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		srv, _ := resourceServer(t, `{"resource":"%s/api","x":"`+strings.Repeat("a", 1<<20)+`"}`)
		if _, err := (&pixie.Discovery{}).DiscoverResource(ctx, srv.URL+"/api"); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err = %v, want the size limit", err)
		}
	})
	t.Run("no authorization server", func(t *testing.T) {
		srv, _ := resourceServer(t, `{"resource":"%s/api"}`)
		if _, err := pixie.ForResource(ctx, srv.URL+"/api", pixie.ResourceOptions{}); err == nil || !strings.Contains(err.Error(), "lists no authorization server") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestChallenges reads the Bearer and DPoP challenges of WWW-Authenticate.
func TestChallenges(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="x", Bearer realm="api", error="insufficient_scope", scope="a b", resource_metadata="https://r.example/.well-known/oauth-protected-resource"`)
	h.Add("WWW-Authenticate", `DPoP algs="ES256", error="use_dpop_nonce", Bearer`)
	got := pixie.Challenges(h)
	want := []pixie.Challenge{
		{Scheme: "Bearer", Realm: "api", Error: "insufficient_scope", Scope: []string{"a", "b"}, ResourceMetadata: "https://r.example/.well-known/oauth-protected-resource"},
		{Scheme: "DPoP", Error: "use_dpop_nonce"},
		{Scheme: "Bearer"},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("Challenges =\n%+v\nwant\n%+v", got, want)
	}
}

// TestResourceParameter checks that Config.Resources reaches the authorization
// URL, the code exchange and the refresh (RFC 8707 sections 2.1 and 2.2), once
// even when the Resource option repeats it.
func TestResourceParameter(t *testing.T) {
	var forms []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		forms = append(forms, r.PostForm)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"at","token_type":"Bearer","refresh_token":"rt","expires_in":60}`)
	}))
	defer srv.Close()
	const res = "https://api.example/v1"
	cfg := &pixie.Config{ClientID: "c", RedirectURL: "http://127.0.0.1/cb", Resources: []string{res},
		Endpoint: pixie.Endpoint{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token"}}
	ctx := context.Background()
	ar, err := cfg.NewAuthRequest(ctx, pixie.Resource(res))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ar.URL)
	if got := u.Query()["resource"]; !slices.Equal(got, []string{res}) {
		t.Errorf("authorization URL resource = %q", got)
	}
	tok, err := cfg.Exchange(ctx, ar, "code")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Refresh(ctx, tok, pixie.Resource(res)); err != nil {
		t.Fatal(err)
	}
	for i, f := range forms {
		if got := f["resource"]; !slices.Equal(got, []string{res}) {
			t.Errorf("token request %d (%s): resource = %q", i, f.Get("grant_type"), got)
		}
	}
}

// TestResourceAudience checks the devserver's RFC 8707 rules at the token
// endpoint: a code exchange or a refresh may name only resources the grant
// covers (RFC 8707 section 2.2).
func TestResourceAudience(t *testing.T) {
	dev := devservertest.NewServer(t, withResources)
	ctx := context.Background()
	api, userinfo := dev.URL+"/api", dev.URL+"/userinfo"
	cfg := dev.Config(dev.Public)
	cfg.Resources = []string{api, userinfo}
	login := func(t *testing.T, opts ...pixie.Option) (*pixie.Token, error) {
		t.Helper()
		c := *cfg
		c.Resources = []string{api}
		ar, err := c.NewAuthRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cb := dev.Authorize(t, ar.URL)
		code, err := ar.ParseCallback(cb.Query())
		if err != nil {
			t.Fatal(err)
		}
		return c.Exchange(ctx, ar, code, opts...)
	}
	if _, err := login(t, pixie.Resource(userinfo)); !pixie.ErrInvalidTarget.Is(err) {
		t.Errorf("code exchange naming a resource not authorized: %v, want invalid_target", err)
	}
	tok, err := login(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Refresh(ctx, tok); !pixie.ErrInvalidTarget.Is(err) {
		t.Errorf("refresh naming a resource not granted: %v, want invalid_target", err)
	}
}
