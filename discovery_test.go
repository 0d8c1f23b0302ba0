package pixie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

// metadataServer is a loopback server that serves a metadata document at the
// paths in docs and 404 elsewhere, recording every path requested.
type metadataServer struct {
	*httptest.Server
	mu       sync.Mutex
	docs     map[string]func(w http.ResponseWriter)
	requests []string
}

func newMetadataServer(tb testing.TB) *metadataServer {
	tb.Helper()
	s := &metadataServer{docs: map[string]func(http.ResponseWriter){}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *metadataServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path)
	doc := s.docs[r.URL.Path]
	s.mu.Unlock()
	if doc == nil {
		http.NotFound(w, r)
		return
	}
	doc(w)
}

// handle serves body with content type at path.
func (s *metadataServer) handle(path, contentType, body string, header ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		fmt.Fprint(w, body)
	}
}

// handleMetadata serves a typical document for issuer at path.
func (s *metadataServer) handleMetadata(path, issuer string, header ...string) {
	s.handle(path, "application/json", metadataJSON(issuer, issuer), header...)
}

func (s *metadataServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// metadataJSON is a document for issuer whose endpoints are under base.
func metadataJSON(issuer, base string) string {
	return fmt.Sprintf(`{
		"issuer": %q,
		"authorization_endpoint": "%[2]s/authorize",
		"token_endpoint": "%[2]s/token",
		"jwks_uri": "%[2]s/jwks",
		"userinfo_endpoint": "%[2]s/userinfo",
		"token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
		"authorization_response_iss_parameter_supported": true,
		"code_challenge_methods_supported": ["S256"],
		"x_vendor_extension": {"answer": 42}
	}`, issuer, base)
}

func TestDiscoverWellKnownLocations(t *testing.T) {
	for _, tc := range []struct {
		name      string
		issuerSfx string // appended to the server URL
		serveAt   string // where the document is
		requests  []string
	}{
		{
			name:     "RFC 8414 location",
			serveAt:  "/.well-known/oauth-authorization-server",
			requests: []string{"/.well-known/oauth-authorization-server"},
		},
		{
			name:     "OpenID Connect location after a 404",
			serveAt:  "/.well-known/openid-configuration",
			requests: []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"},
		},
		{
			name:      "RFC 8414 path insertion",
			issuerSfx: "/tenant/a",
			serveAt:   "/.well-known/oauth-authorization-server/tenant/a",
			requests:  []string{"/.well-known/oauth-authorization-server/tenant/a"},
		},
		{
			name:      "OpenID Connect appended to a path",
			issuerSfx: "/tenant",
			serveAt:   "/tenant/.well-known/openid-configuration",
			requests:  []string{"/.well-known/oauth-authorization-server/tenant", "/tenant/.well-known/openid-configuration"},
		},
		{
			name:      "OpenID Connect appended without the trailing slash",
			issuerSfx: "/tenant/",
			serveAt:   "/tenant/.well-known/openid-configuration",
			requests:  []string{"/.well-known/oauth-authorization-server/tenant", "/tenant/.well-known/openid-configuration"},
		},
		{
			name:      "OpenID Connect inserted",
			issuerSfx: "/tenant",
			serveAt:   "/.well-known/openid-configuration/tenant",
			requests: []string{"/.well-known/oauth-authorization-server/tenant", "/tenant/.well-known/openid-configuration",
				"/.well-known/openid-configuration/tenant"},
		},
		{
			name:      "oauth-authorization-server appended",
			issuerSfx: "/tenant",
			serveAt:   "/tenant/.well-known/oauth-authorization-server",
			requests: []string{"/.well-known/oauth-authorization-server/tenant", "/tenant/.well-known/openid-configuration",
				"/.well-known/openid-configuration/tenant", "/tenant/.well-known/oauth-authorization-server"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMetadataServer(t)
			issuer := srv.URL + tc.issuerSfx
			srv.handleMetadata(tc.serveAt, issuer)
			var d pixie.Discovery
			m, err := d.Discover(t.Context(), issuer)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Issuer, issuer; got != want {
				t.Errorf("Issuer = %q, want %q", got, want)
			}
			if got, want := m.TokenEndpoint, issuer+"/token"; got != want {
				t.Errorf("TokenEndpoint = %q, want %q", got, want)
			}
			if got, want := srv.requested(), tc.requests; !slices.Equal(got, want) {
				t.Errorf("requested %q, want %q", got, want)
			}
		})
	}
}

func ExampleDiscover() {
	// A stand-in authorization server on loopback; use your server's issuer URL.
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, metadataJSON(issuer, issuer))
	}))
	defer srv.Close()
	issuer = srv.URL + "/tenant"

	m, err := pixie.Discover(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	cfg := pixie.Config{ClientID: "my-client", Endpoint: m.Endpoint()}
	fmt.Println(strings.TrimPrefix(cfg.Endpoint.TokenURL, srv.URL), cfg.Endpoint.AuthMethods, cfg.Endpoint.IssParameterSupported)
	// Output: /tenant/token [client_secret_basic private_key_jwt] true
}

func TestDiscoverSkipsHTMLPage(t *testing.T) {
	srv := newMetadataServer(t)
	srv.handle("/.well-known/oauth-authorization-server", "text/html; charset=utf-8", "<html>app shell</html>")
	srv.handleMetadata("/.well-known/openid-configuration", srv.URL)
	m, err := new(pixie.Discovery).Discover(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.JWKSURI, srv.URL+"/jwks"; got != want {
		t.Errorf("JWKSURI = %q, want %q", got, want)
	}
}

func TestDiscoverDecodesMembers(t *testing.T) {
	srv := newMetadataServer(t)
	srv.handleMetadata("/.well-known/openid-configuration", srv.URL)
	m, err := pixie.Discover(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := pixie.Endpoint{
		Issuer:                srv.URL,
		AuthURL:               srv.URL + "/authorize",
		TokenURL:              srv.URL + "/token",
		UserinfoURL:           srv.URL + "/userinfo",
		JWKSURL:               srv.URL + "/jwks",
		AuthMethods:           []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.PrivateKeyJWT},
		IssParameterSupported: true,
	}
	if got := m.Endpoint(); !reflect.DeepEqual(got, want) {
		t.Errorf("Endpoint() = %+v, want %+v", got, want)
	}
	if got, want := m.CodeChallengeMethodsSupported, []string{"S256"}; !slices.Equal(got, want) {
		t.Errorf("CodeChallengeMethodsSupported = %q, want %q", got, want)
	}
	ext, _ := m.Raw["x_vendor_extension"].(map[string]any)
	if got, want := ext["answer"], any(42.0); got != want {
		t.Errorf("Raw[x_vendor_extension][answer] = %v, want %v", got, want)
	}
}

func TestDiscoverErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(s *metadataServer)
		want  []string // substrings of the error
	}{
		{
			name: "issuer mismatch",
			serve: func(s *metadataServer) {
				s.handleMetadata("/.well-known/oauth-authorization-server", "https://evil.example")
			},
			want: []string{`"https://evil.example"`, "does not equal the requested issuer", "RFC 8414 section 3.3"},
		},
		{
			name: "no document anywhere",
			want: []string{"no metadata document found", "/.well-known/oauth-authorization-server: HTTP 404", "/.well-known/openid-configuration: HTTP 404"},
		},
		{
			name: "server error",
			serve: func(s *metadataServer) {
				s.docs["/.well-known/oauth-authorization-server"] = func(w http.ResponseWriter) {
					http.Error(w, "database down", http.StatusInternalServerError)
				}
			},
			want: []string{"pixie: discovery http://127.0.0.1:", "/.well-known/oauth-authorization-server", "HTTP 500", "database down"},
		},
		{
			name:  "not JSON",
			serve: func(s *metadataServer) { s.handle("/.well-known/oauth-authorization-server", "text/plain", "hello") },
			want:  []string{"/.well-known/oauth-authorization-server (HTTP 200", `"text/plain"`, "not a JSON object"},
		},
		{
			name: "invalid JSON",
			serve: func(s *metadataServer) {
				s.handle("/.well-known/oauth-authorization-server", "application/json", `{"issuer": "x",`)
			},
			want: []string{"not valid JSON"},
		},
		{
			name: "member of the wrong type",
			serve: func(s *metadataServer) {
				s.handle("/.well-known/oauth-authorization-server", "application/json", `{"issuer": "x", "grant_types_supported": "client_credentials"}`)
			},
			want: []string{"member grant_types_supported: found a JSON string, want array of strings"},
		},
		{
			name: "no issuer member",
			serve: func(s *metadataServer) {
				s.handle("/.well-known/oauth-authorization-server", "application/json", `{"token_endpoint": "x"}`)
			},
			want: []string{`no "issuer" member`},
		},
		{
			name: "oversized body",
			serve: func(s *metadataServer) {
				s.handle("/.well-known/oauth-authorization-server", "application/json", `{"issuer":"`+strings.Repeat("a", 2<<20)+`"}`)
			},
			want: []string{"response body larger than"},
		},
		{
			name: "http endpoint on another host",
			serve: func(s *metadataServer) {
				s.handle("/.well-known/oauth-authorization-server", "application/json", metadataJSON(s.URL, "http://as.example"))
			},
			want: []string{"authorization_endpoint", `refusing http:// URL "http://as.example/authorize"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMetadataServer(t)
			if tc.serve != nil {
				tc.serve(srv)
			}
			_, err := new(pixie.Discovery).Discover(t.Context(), srv.URL)
			if err == nil {
				t.Fatal("Discover succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDiscoverServerErrorIsTemporary(t *testing.T) {
	srv := newMetadataServer(t)
	srv.docs["/.well-known/oauth-authorization-server"] = func(w http.ResponseWriter) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}
	_, err := new(pixie.Discovery).Discover(t.Context(), srv.URL)
	if !pixie.Temporary(err) {
		t.Errorf("Discover error %v is not Temporary", err)
	}
	var e *pixie.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Discover error %v does not carry the HTTP status", err)
	}
}

func TestDiscoverRefusesInsecureIssuers(t *testing.T) {
	for _, tc := range []struct{ issuer, want string }{
		{"http://as.example", `refusing http:// URL "http://as.example"`},
		{"https://as.example/?tenant=a", "must not have a query"},
		{"https://as.example/#frag", "must not have a fragment"},
		{"", "no URL configured"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			_, err := new(pixie.Discovery).Discover(t.Context(), tc.issuer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Discover(%q) error = %v, want one containing %q", tc.issuer, err, tc.want)
			}
		})
	}
}

func TestDiscoverRefusesHTTPEndpointOfHTTPSIssuer(t *testing.T) {
	var issuer string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		doc := strings.Replace(metadataJSON(issuer, issuer), `"token_endpoint": "https:`, `"token_endpoint": "http:`, 1)
		fmt.Fprint(w, doc)
	}))
	defer srv.Close()
	issuer = srv.URL

	d := pixie.Discovery{HTTPClient: srv.Client()}
	_, err := d.Discover(t.Context(), issuer)
	if err == nil || !strings.Contains(err.Error(), "token_endpoint: https issuer") {
		t.Fatalf("Discover error = %v, want a refusal of the http token_endpoint", err)
	}

	insecure := &pixie.Discovery{HTTPClient: srv.Client(), AllowInsecureHTTP: true}
	m, err := insecure.Discover(t.Context(), issuer)
	if err != nil {
		t.Fatalf("Discover with AllowInsecureHTTP: %v", err)
	}
	if got, want := m.TokenEndpoint, "http:"+strings.TrimPrefix(issuer, "https:")+"/token"; got != want {
		t.Errorf("TokenEndpoint = %q, want %q", got, want)
	}
}

func TestDiscoverRefusesRedirectToHTTP(t *testing.T) {
	plain := newMetadataServer(t)
	srv := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/.well-known/oauth-authorization-server", http.StatusFound))
	defer srv.Close()
	// What an attacker on the network could serve at the http location.
	plain.handleMetadata("/.well-known/oauth-authorization-server", srv.URL)

	d := pixie.Discovery{HTTPClient: srv.Client()}
	_, err := d.Discover(t.Context(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https to http") {
		t.Errorf("Discover error = %v, want a refused redirect", err)
	}
	if got := plain.requested(); len(got) != 0 {
		t.Errorf("the http location was requested: %q", got)
	}
}

func TestDiscoverCache(t *testing.T) {
	const path = "/.well-known/oauth-authorization-server"
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		header  []string
		fresh   time.Duration // still cached this long after the fetch
		refetch time.Duration // fetched again this long after the fetch
	}{
		{name: "default TTL", fresh: 59 * time.Minute, refetch: time.Hour},
		{name: "configured TTL", ttl: 10 * time.Minute, fresh: 9 * time.Minute, refetch: 10 * time.Minute},
		{name: "shorter max-age", header: []string{"Cache-Control", "public, max-age=300"}, fresh: 4 * time.Minute, refetch: 5 * time.Minute},
		{name: "longer max-age", ttl: 10 * time.Minute, header: []string{"Cache-Control", "max-age=86400"}, fresh: 9 * time.Minute, refetch: 10 * time.Minute},
		{name: "no-store floors at a minute", header: []string{"Cache-Control", "no-store"}, fresh: 59 * time.Second, refetch: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMetadataServer(t)
			srv.handleMetadata(path, srv.URL, tc.header...)
			clock := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			d := pixie.Discovery{TTL: tc.ttl, Now: clock.Now}
			discover := func(wantRequests int) {
				t.Helper()
				if _, err := d.Discover(t.Context(), srv.URL); err != nil {
					t.Fatal(err)
				}
				if got := len(srv.requested()); got != wantRequests {
					t.Errorf("after %v: %d requests, want %d", clock.Now().Sub(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), got, wantRequests)
				}
			}
			discover(1)
			clock.Advance(tc.fresh)
			discover(1)
			clock.Advance(tc.refetch - tc.fresh)
			discover(2)
		})
	}
}

func TestDiscoverKeepsDocumentWhileServerFails(t *testing.T) {
	const path = "/.well-known/oauth-authorization-server"
	srv := newMetadataServer(t)
	srv.handleMetadata(path, srv.URL)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := fakeclock.New(start)
	d := pixie.Discovery{Now: clock.Now}
	discover := func(wantRequests int) error {
		t.Helper()
		_, err := d.Discover(t.Context(), srv.URL)
		if got := len(srv.requested()); got != wantRequests {
			t.Errorf("after %v: %d requests, want %d", clock.Now().Sub(start), got, wantRequests)
		}
		return err
	}
	fail := func(status int) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		srv.docs[path] = func(w http.ResponseWriter) { http.Error(w, "down", status) }
	}
	if err := discover(1); err != nil {
		t.Fatal(err)
	}
	t.Run("temporary failure", func(t *testing.T) {
		fail(http.StatusServiceUnavailable)
		clock.Advance(time.Hour)
		if err := discover(2); err != nil {
			t.Fatalf("Discover while the server fails: %v, want the document fetched before", err)
		}
		clock.Advance(59 * time.Second)
		if err := discover(2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if err := discover(3); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("recovery", func(t *testing.T) {
		srv.handleMetadata(path, srv.URL)
		clock.Advance(time.Minute)
		if err := discover(4); err != nil {
			t.Fatal(err)
		}
		clock.Advance(59 * time.Minute)
		if err := discover(4); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lasting failure", func(t *testing.T) {
		fail(http.StatusForbidden)
		clock.Advance(time.Hour)
		if err := discover(5); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
			t.Errorf("Discover error = %v, want the HTTP 403", err)
		}
	})
	t.Run("too stale to serve", func(t *testing.T) {
		srv.handleMetadata(path, srv.URL)
		if err := discover(6); err != nil {
			t.Fatal(err)
		}
		fail(http.StatusServiceUnavailable)
		clock.Advance(23 * time.Hour)
		if err := discover(7); err != nil {
			t.Fatalf("Discover 23 h after the last fetch, server failing: %v", err)
		}
		clock.Advance(2 * time.Hour)
		if err := discover(8); err == nil {
			t.Error("a document fetched 25 h ago was served while its server fails")
		}
	})
}

// TestDiscoverCacheIsBounded discovers many issuers over two days and checks
// that documents too old to serve are dropped.
func TestDiscoverCacheIsBounded(t *testing.T) {
	srv := newMetadataServer(t)
	clock := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	d := pixie.Discovery{Now: clock.Now}
	for i := range 600 {
		issuer := fmt.Sprintf("%s/tenant-%d", srv.URL, i)
		srv.handleMetadata("/.well-known/oauth-authorization-server/tenant-"+strconv.Itoa(i), issuer)
		if _, err := d.Discover(t.Context(), issuer); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Minute)
	}
	if got := pixie.DiscoveryCacheLen(&d); got > 400 {
		t.Errorf("cache holds %d documents after 600 issuers over 50 hours; want the stale ones dropped", got)
	}
}

func TestDiscoverCachesPerIssuer(t *testing.T) {
	srv := newMetadataServer(t)
	srv.handleMetadata("/.well-known/oauth-authorization-server/a", srv.URL+"/a")
	srv.handleMetadata("/.well-known/oauth-authorization-server/b", srv.URL+"/b")
	var d pixie.Discovery
	for _, issuer := range []string{srv.URL + "/a", srv.URL + "/b", srv.URL + "/a", srv.URL + "/b"} {
		m, err := d.Discover(t.Context(), issuer)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Issuer, issuer; got != want {
			t.Errorf("Issuer = %q, want %q", got, want)
		}
	}
	if got, want := len(srv.requested()), 2; got != want {
		t.Errorf("%d requests, want %d", got, want)
	}
}

func TestDiscoverDoesNotCacheFailures(t *testing.T) {
	srv := newMetadataServer(t)
	var d pixie.Discovery
	if _, err := d.Discover(t.Context(), srv.URL); err == nil {
		t.Fatal("Discover succeeded without a document")
	}
	srv.handleMetadata("/.well-known/oauth-authorization-server", srv.URL)
	if _, err := d.Discover(t.Context(), srv.URL); err != nil {
		t.Fatalf("Discover after the document appeared: %v", err)
	}
}

func TestDiscoverConcurrentMissesFetchOnce(t *testing.T) {
	var requests atomic.Int32
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, metadataJSON(issuer, issuer))
	}))
	defer srv.Close()
	issuer = srv.URL

	var d pixie.Discovery
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := d.Discover(context.Background(), issuer); err != nil {
				t.Error(err)
			}
		})
	}
	waitGroup(t, &wg, "the concurrent Discover calls")
	if got, want := requests.Load(), int32(1); got != want {
		t.Errorf("%d requests, want %d", got, want)
	}
}

func TestDiscoverHonoursCancellation(t *testing.T) {
	srv := newMetadataServer(t)
	srv.handleMetadata("/.well-known/oauth-authorization-server", srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := new(pixie.Discovery).Discover(ctx, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Discover error = %v, want context canceled", err)
	}
}

func TestDecodeMetadataRoundTrip(t *testing.T) {
	m, err := pixie.DecodeMetadata([]byte(metadataJSON("https://as.example", "https://as.example")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pixie.DecodeMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Raw, again.Raw = nil, nil
	if !reflect.DeepEqual(m, again) {
		t.Errorf("after a JSON round trip: %+v, want %+v", again, m)
	}
}

// FuzzDecodeMetadata checks that DecodeMetadata never panics, that what it accepts
// has an issuer, and that the known members survive a JSON round trip (compared
// after one encoding, which normalises empty lists and invalid UTF-8).
func FuzzDecodeMetadata(f *testing.F) {
	f.Add([]byte(metadataJSON("https://as.example/tenant", "https://as.example")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := pixie.DecodeMetadata(b)
		if err != nil {
			return
		}
		if m.Issuer == "" {
			t.Fatal("accepted a document without an issuer")
		}
		if got, want := m.Endpoint().Issuer, m.Issuer; got != want {
			t.Fatalf("Endpoint().Issuer = %q, want %q", got, want)
		}
		enc, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := pixie.DecodeMetadata(enc)
		if err != nil {
			t.Fatalf("decoding %s: %v", enc, err)
		}
		enc2, err := json.Marshal(again)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the metadata:\n%s\n%s", enc, enc2)
		}
	})
}
