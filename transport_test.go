package pixie_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pixieauth/pixie"
)

// api is a resource server that accepts one access token at a time.
type api struct {
	valid atomic.Pointer[string]
	seen  atomic.Int64
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.Add(1)
	if got := r.Header.Get("Authorization"); got != "Bearer "+*a.valid.Load() {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="expired"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	io.WriteString(w, "ok:"+string(body))
}

// apiFixture starts an api accepting only the token valid, and returns it with
// its URL, the issuer of the client's tokens and the client.
func apiFixture(t *testing.T, valid string) (*api, string, *issuer, *http.Client) {
	t.Helper()
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	a := &api{}
	a.valid.Store(&valid)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL, is, pixie.NewClient(pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now}))
}

func TestTransportAuthorizes(t *testing.T) {
	_, url, _, client := apiFixture(t, "at-1")
	req, _ := http.NewRequest("GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("Transport modified the caller's request")
	}
}

func TestTransportRenewsAndReplaysOnInvalidToken(t *testing.T) {
	a, url, is, client := apiFixture(t, "at-2") // the server already rejects at-1
	resp, err := client.Post(url, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(body), "ok:payload"; resp.StatusCode != 200 || got != want {
		t.Fatalf("status %d body %q, want 200 %q", resp.StatusCode, got, want)
	}
	if got := is.calls.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2 (one renewal)", got)
	}
	if got := a.seen.Load(); got != 2 {
		t.Errorf("API requests = %d, want 2 (one replay)", got)
	}
}

func TestTransportReplaysOnlyOnce(t *testing.T) {
	a, url, _, client := apiFixture(t, "never")
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if got := a.seen.Load(); got != 2 {
		t.Errorf("API requests = %d, want 2", got)
	}
}

func TestTransportDoesNotReplayUnreplayableBody(t *testing.T) {
	a, url, _, client := apiFixture(t, "never")
	// An io.Reader without GetBody cannot be sent twice.
	resp, err := client.Post(url, "text/plain", io.MultiReader(strings.NewReader("x")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := a.seen.Load(); got != 1 {
		t.Errorf("API requests = %d, want 1", got)
	}
}

func TestTransportKeepsTokenFromOtherHosts(t *testing.T) {
	leaked := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // the first request is the one looked at; a send never blocks the handler
		case leaked <- r.Header.Get("Authorization"):
		default:
		}
	}))
	defer other.Close()
	// The same listener under another host name: 127.0.0.1 redirects to localhost.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL, http.StatusFound)
	}))
	defer first.Close()
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	client := pixie.NewClient(pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now}))
	resp, err := client.Get(first.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := receive(t, leaked, "the request to the other host"); got != "" {
		t.Errorf("redirect to another host carried Authorization %q", got)
	}
}

func TestOAuth2Adapters(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	src := pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now})
	ots := pixie.OAuth2(src)
	o, err := ots.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.AccessToken, "at-1"; got != want {
		t.Errorf("oauth2 token = %q, want %q", got, want)
	}
	back := pixie.FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "static", TokenType: "bearer"}))
	tok, err := back.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.AccessToken.Reveal(), "static"; got != want {
		t.Errorf("pixie token = %q, want %q", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := back.Token(ctx); err == nil {
		t.Error("FromOAuth2 ignored a cancelled context")
	}
}

func TestTransportReturnsRenewalError(t *testing.T) {
	a, url, is, client := apiFixture(t, "never")
	var rejected error = &pixie.Error{Op: "token", Code: "invalid_grant", Description: "refresh token revoked"}
	if _, err := client.Get(url); err != nil { // the first token is fetched and refused
		t.Fatal(err)
	}
	is.fail.Store(&rejected)
	_, err := client.Get(url)
	if !pixie.LoginRequired(err) {
		t.Errorf("err = %v, want the renewal's login-required error", err)
	}
	if got := a.seen.Load(); got != 3 {
		t.Errorf("API requests = %d, want 3 (two, then one before the failed renewal)", got)
	}
}

func TestOAuth2AdapterReusesConversion(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	ots := pixie.OAuth2(pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now}))
	a, err := ots.Token()
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ots.Token() }); n != 0 {
		t.Errorf("allocations per cached Token call = %v, want 0", n)
	}
	clk.Advance(2 * time.Hour)
	b, err := ots.Token()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || b.AccessToken != "at-2" {
		t.Errorf("after expiry the adapter returned %q, want the renewed at-2", b.AccessToken)
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportKeepsTokenFromDowngradedRedirect checks that a redirect from https
// to plain http on the same host is followed without the token, which would
// otherwise cross the network in clear text.
func TestTransportKeepsTokenFromDowngradedRedirect(t *testing.T) {
	clk := newClock()
	is := &issuer{clk: clk, life: time.Hour}
	sent := map[string]string{} // scheme: Authorization
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent[r.URL.Scheme] = r.Header.Get("Authorization")
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}
		if r.URL.Scheme == "https" {
			resp.StatusCode = http.StatusFound
			resp.Header.Set("Location", "http://127.0.0.1/plain")
		}
		return resp, nil
	})
	client := &http.Client{Transport: &pixie.Transport{Source: pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now}), Base: base}}
	resp, err := client.Get("https://127.0.0.1/secure")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := sent["https"], "Bearer at-1"; got != want {
		t.Errorf("https request Authorization = %q, want %q", got, want)
	}
	if got, ok := sent["http"]; !ok || got != "" {
		t.Errorf("plain http redirect Authorization = %q (sent %v), want none", got, ok)
	}
}

// TestTransportReadsChallenges checks which WWW-Authenticate challenges make the
// Transport renew the token and replay the request (RFC 6750 section 3, RFC 9110
// section 11.6.1, RFC 9449 section 7.1).
func TestTransportReadsChallenges(t *testing.T) {
	for _, tc := range []struct {
		name       string
		challenges []string
		renew      bool
	}{
		{"bearer", []string{`Bearer realm="api", error="invalid_token"`}, true},
		{"dpop", []string{`DPoP algs="ES256", error="invalid_token"`}, true},
		{"unquoted value", []string{`Bearer error=invalid_token`}, true},
		{"spaces and case", []string{`bearer ERROR = "invalid_token"`}, true},
		{"after another challenge", []string{`Basic realm="x", Bearer error="invalid_token"`}, true},
		{"in a second header", []string{`Basic realm="x"`, `Bearer error="invalid_token"`}, true},
		{"escaped quotes before", []string{`Bearer realm="a \"b\", c", error="invalid_token"`}, true},
		{"inside a quoted string", []string{`Bearer realm="error=\"invalid_token\""`}, false},
		{"other error", []string{`Bearer error="insufficient_scope"`}, false},
		{"another scheme", []string{`Basic error="invalid_token"`}, false},
		{"a longer code", []string{`Bearer error="invalid_token_binding"`}, false},
		{"other parameter", []string{`Bearer xerror="invalid_token"`}, false},
		{"no error", []string{`Bearer realm="api"`}, false},
		{"after a token68", []string{`Negotiate YWJj==, Basic YWJj, Bearer error="invalid_token"`}, true},
		{"unterminated quote", []string{`Bearer realm="api, error="invalid_token`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if seen.Add(1) == 1 {
					for _, c := range tc.challenges {
						w.Header().Add("WWW-Authenticate", c)
					}
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			defer srv.Close()
			clk := newClock()
			is := &issuer{clk: clk, life: time.Hour}
			client := pixie.NewClient(pixie.NewSource(is.fetch, pixie.SourceOptions{Now: clk.Now}))
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := int64(1)
			if tc.renew {
				want = 2
			}
			if got := seen.Load(); got != want {
				t.Errorf("API requests = %d, want %d", got, want)
			}
		})
	}
}

// TestTransportWithoutSource checks that a Transport missing its Source fails
// with an error rather than a panic, and closes the request body.
func TestTransportWithoutSource(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, err := http.NewRequest("POST", "http://127.0.0.1/", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&pixie.Transport{}).RoundTrip(req); err == nil {
		t.Error("RoundTrip without a Source succeeded")
	}
	if !body.closed {
		t.Error("RoundTrip without a Source left the request body open")
	}
}

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}
