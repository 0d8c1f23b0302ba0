package pixie_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

// loopbackClient returns an HTTP client that sends every request, whatever its
// host, to srv, so tests can use host names without leaving the machine.
func loopbackClient(srv *httptest.Server) *http.Client {
	addr := srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func TestTransportSecurity(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name     string
		tokenURL string
		insecure bool
		wantErr  string
	}{
		{"127.0.0.1", "http://127.0.0.1:" + strconv.Itoa(port) + "/token", false, ""},
		{"127.0.0.2", "http://127.0.0.2:" + strconv.Itoa(port) + "/token", false, ""},
		{"::1", "http://[::1]:" + strconv.Itoa(port) + "/token", false, ""},
		{"localhost", "http://localhost:" + strconv.Itoa(port) + "/token", false, ""},
		{"non-loopback http", "http://auth.example.com/token", false, "https"},
		{"non-loopback http allowed", "http://auth.example.com/token", true, ""},
		{"private address", "http://10.0.0.1/token", false, "https"},
		{"https", "https://auth.example.com/token", false, "server gave HTTP response to HTTPS client"},
		{"user info", "https://client:pa55word@auth.example.com/token", false, "user info"},
		{"fragment", "https://auth.example.com/token#frag", false, "fragment"},
		{"user info and fragment", "https://client:pa55word@auth.example.com/token#frag", false, "auth.example.com"},
		{"other scheme", "ftp://auth.example.com/token", false, "scheme"},
		{"no host", "https:///token", false, "host"},
		{"unparsable", "https://auth.example.com:port/token", false, "invalid"},
		{"unparsable with user info", "https://client:pa55word@auth.example.com:port/token", false, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(srv)
			c.Endpoint.TokenURL = tt.tokenURL
			c.AllowInsecureHTTP = tt.insecure
			c.HTTPClient = loopbackClient(srv.Server)
			c.Retry.MaxAttempts = 1
			before := len(srv.requests("/token"))
			_, err := c.ClientCredentials(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if got := len(srv.requests("/token")) - before; got != 1 {
					t.Errorf("server received %d requests, want 1", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
			checkNoSecrets(t, err, "pa55word")
			if got := len(srv.requests("/token")) - before; got != 0 {
				t.Errorf("server received %d requests, want 0", got)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	type step struct {
		status     int
		retryAfter string
	}
	tests := []struct {
		name        string
		steps       []step // the replies before a token, in order
		maxAttempts int
		maxWait     time.Duration
		wantReqs    int
		wantErr     int // the status of the error returned; 0 for success
	}{
		{"503 then 200", []step{{503, ""}}, 0, 0, 2, 0},
		{"502, 500 then 200", []step{{502, ""}, {500, ""}}, 0, 0, 3, 0},
		{"429 then 200", []step{{429, ""}}, 0, 0, 2, 0},
		{"zero Retry-After", []step{{503, "0"}}, 0, 0, 2, 0},
		{"default three attempts", []step{{503, ""}, {503, ""}, {503, ""}}, 0, 0, 3, 503},
		{"MaxAttempts respected", []step{{503, ""}, {503, ""}, {503, ""}, {503, ""}, {503, ""}}, 4, 0, 4, 503},
		{"MaxAttempts 1 disables retries", []step{{503, ""}}, 1, 0, 1, 503},
		{"Retry-After longer than MaxWait", []step{{503, "120"}}, 0, 0, 1, 503},
		{"Retry-After longer than a set MaxWait", []step{{429, "3"}}, 0, 2 * time.Second, 1, 429},
		{"400 not retried", []step{{400, ""}}, 0, 0, 1, 400},
		{"401 not retried", []step{{401, ""}}, 0, 0, 1, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, r seenRequest) {
				if r.N > len(tt.steps) {
					replyToken(w, r)
					return
				}
				s := tt.steps[r.N-1]
				if s.retryAfter != "" {
					w.Header().Set("Retry-After", s.retryAfter)
				}
				code := "invalid_request"
				if s.status >= 429 {
					code = "temporarily_unavailable"
				}
				replyJSON(w, s.status, `{"error":"`+code+`"}`)
			})
			c := testConfig(srv)
			c.Retry.MaxAttempts, c.Retry.MaxWait = tt.maxAttempts, tt.maxWait
			_, err := c.ClientCredentials(context.Background())
			if got := len(srv.requests("/token")); got != tt.wantReqs {
				t.Errorf("server received %d requests, want %d", got, tt.wantReqs)
			}
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if got := asError(t, err).StatusCode; got != tt.wantErr {
				t.Errorf("StatusCode = %d, want %d", got, tt.wantErr)
			}
			if got, want := pixie.Temporary(err), tt.wantErr >= 429; got != want {
				t.Errorf("Temporary = %t, want %t", got, want)
			}
			if last := tt.steps[tt.wantReqs-1]; last.retryAfter != "" {
				d, ok := pixie.RetryAfter(err)
				if want := mustSeconds(t, last.retryAfter); !ok || d != want {
					t.Errorf("RetryAfter = %v, %t; want %v", d, ok, want)
				}
			}
			checkNoSecrets(t, err)
		})
	}
}

func mustSeconds(tb testing.TB, s string) time.Duration {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return time.Duration(n) * time.Second
}

func TestRetryNetworkErrors(t *testing.T) {
	// A closed listener's port: every connection is refused.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	for name, exchange := range map[string]func(c *pixie.Config) error{
		"client credentials": func(c *pixie.Config) error {
			_, err := c.ClientCredentials(context.Background())
			return err
		},
		"code exchange, sent only once": func(c *pixie.Config) error {
			_, err := c.Exchange(context.Background(), &pixie.AuthRequest{Verifier: pixie.NewVerifier()}, "the-code")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logRecords
			c := &pixie.Config{
				ClientID: testClientID, ClientSecret: pixie.NewSecret(testClientSecret),
				Endpoint: pixie.Endpoint{TokenURL: closedURL + "/token?tenant=acme"},
				Retry:    pixie.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
				Logger:   logs.Logger(),
			}
			err := exchange(c)
			if !pixie.Temporary(err) {
				t.Errorf("err = %v, want a temporary error", err)
			}
			if strings.Contains(err.Error(), "tenant=acme") {
				t.Errorf("error %q quotes the endpoint's query", err)
			}
			checkNoSecrets(t, err, "the-code")
			retries := 0
			for _, l := range logs.Lines() {
				if strings.Contains(l, "oauth2 retry") {
					retries++
				}
				if strings.Contains(l, "tenant=acme") || strings.Contains(l, testClientSecret) {
					t.Errorf("log line %q reveals the query or the secret", l)
				}
			}
			if got, want := retries, 2; got != want {
				t.Errorf("retried %d times, want %d (connection refused: the server saw nothing)", got, want)
			}
		})
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
		cancel()
		replyJSON(w, http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)
	})
	c := testConfig(srv)
	c.Retry.MaxAttempts = 5
	_, err := c.ClientCredentials(ctx)
	if err == nil {
		t.Fatal("err = nil, want one")
	}
	if got, want := len(srv.requests("/token")), 1; got != want {
		t.Errorf("server received %d requests, want %d", got, want)
	}
}

func TestRetryBackoffLogged(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
		reply(w, http.StatusServiceUnavailable, "", "")
	})
	var logs logRecords
	c := testConfig(srv)
	c.Logger = logs.Logger()
	c.Retry = pixie.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 3 * time.Millisecond}
	_, err := c.ClientCredentials(context.Background())
	if !pixie.Temporary(err) {
		t.Fatalf("err = %v, want a temporary error", err)
	}
	var waits []time.Duration
	for _, l := range logs.Lines() {
		if _, w, ok := strings.Cut(l, "wait="); ok && strings.Contains(l, "oauth2 retry") {
			d, err := time.ParseDuration(strings.Fields(w)[0])
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, d)
		}
	}
	if got, want := len(waits), 5; got != want {
		t.Fatalf("logged %d retries, want %d: %q", got, want, logs.Lines())
	}
	for i, d := range waits {
		if ceiling := min(time.Millisecond<<i, 3*time.Millisecond); d <= 0 || d > ceiling {
			t.Errorf("wait %d = %v, want in (0, %v]", i+1, d, ceiling)
		}
	}
}
