package wire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

const (
	clientID     = "wire-client"
	clientSecret = "wire-secret-value"
)

// server is a loopback endpoint that answers the n-th request (from 1) with
// handle and counts requests.
type server struct {
	*httptest.Server
	n atomic.Int32
}

func newServer(tb testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int)) *server {
	tb.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, int(s.n.Add(1)))
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *server) requests() int { return int(s.n.Load()) }

// sleeps records the waits of a Client instead of waiting.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// statuses answers with each status in turn, then 200 with a token.
func statuses(retryAfter string, codes ...int) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n > len(codes) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"a"}`)
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(codes[n-1])
	}
}

func basicAuth() wire.Auth {
	return wire.Auth{Method: wire.MethodBasic, ClientID: clientID, Secret: clientSecret}
}

func post(c *wire.Client, srv *server, oneShot bool) (*wire.Response, error) {
	return c.Post(context.Background(), &wire.Request{
		Op: "token", URL: srv.URL + "/token", Form: url.Values{"grant_type": {"client_credentials"}},
		Auth: basicAuth(), OneShot: oneShot,
	})
}

func TestPostRetry(t *testing.T) {
	base := 10 * time.Millisecond
	tests := []struct {
		name       string
		handle     func(w http.ResponseWriter, r *http.Request, n int)
		retry      wire.Retry
		oneShot    bool
		wantReqs   int
		wantWaits  []time.Duration // exact waits; nil to check only the count
		wantStatus int             // of the returned error; 0 for success
	}{
		{name: "503 then 200", handle: statuses("", 503), wantReqs: 2},
		{name: "Retry-After seconds", handle: statuses("7", 503), wantReqs: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "Retry-After date", handle: statuses("Sun, 01 Mar 2026 12:00:20 GMT", 429), wantReqs: 2,
			wantWaits: []time.Duration{20 * time.Second}},
		{name: "Retry-After date passed", handle: statuses("Sun, 01 Mar 2026 11:00:00 GMT", 503), wantReqs: 2},
		{name: "Retry-After garbage", handle: statuses("soon", 503), wantReqs: 2},
		{name: "Retry-After beyond MaxWait", handle: statuses("31", 503), wantReqs: 1, wantStatus: 503},
		{name: "Retry-After beyond a day", handle: statuses("999999999", 503), retry: wire.Retry{MaxWait: 48 * time.Hour},
			wantReqs: 2, wantWaits: []time.Duration{24 * time.Hour}},
		{name: "Retry-After within MaxWait", handle: statuses("60", 503), retry: wire.Retry{MaxWait: time.Minute},
			wantReqs: 2, wantWaits: []time.Duration{time.Minute}},
		{name: "default MaxAttempts", handle: statuses("", 503, 503, 503), wantReqs: 3, wantStatus: 503},
		{name: "MaxAttempts", handle: statuses("", 500, 502, 503, 504, 500), retry: wire.Retry{MaxAttempts: 5}, wantReqs: 5, wantStatus: 500},
		{name: "MaxAttempts 1", handle: statuses("", 503), retry: wire.Retry{MaxAttempts: 1}, wantReqs: 1, wantStatus: 503},
		{name: "400 not retried", handle: statuses("", 400), wantReqs: 1, wantStatus: 400},
		{name: "404 not retried", handle: statuses("", 404), wantReqs: 1, wantStatus: 404},
		{name: "one-shot 503 not retried", handle: statuses("1", 503), oneShot: true, wantReqs: 1, wantStatus: 503},
		{name: "one-shot 500 not retried", handle: statuses("", 500), oneShot: true, wantReqs: 1, wantStatus: 500},
		{name: "one-shot 429 retried", handle: statuses("2", 429), oneShot: true, wantReqs: 2, wantWaits: []time.Duration{2 * time.Second}},
		{name: "temporarily_unavailable with 400", handle: func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"temporarily_unavailable"}`)
				return
			}
			statuses("")(w, r, n)
		}, wantReqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handle)
			var s sleeps
			retry := tt.retry
			retry.BaseDelay = base
			c := &wire.Client{
				HTTP: srv.Client(), Retry: retry, Sleep: s.Sleep,
				Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
			}
			resp, err := post(c, srv, tt.oneShot)
			if got := srv.requests(); got != tt.wantReqs {
				t.Errorf("server received %d requests, want %d", got, tt.wantReqs)
			}
			waits := s.all()
			if got, want := len(waits), tt.wantReqs-1; got != want {
				t.Errorf("waited %d times, want %d", got, want)
			}
			if tt.wantWaits != nil && !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
			}
			if tt.wantWaits == nil {
				for i, d := range waits {
					if ceiling := base << i; d <= 0 || d > ceiling {
						t.Errorf("backoff %d = %v, want in (0, %v]", i+1, d, ceiling)
					}
				}
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if got, want := resp.Received, c.Now(); !got.Equal(want) {
					t.Errorf("Received = %v, want the client's clock %v", got, want)
				}
				return
			}
			var we *wire.Error
			if !errors.As(err, &we) || we.StatusCode != tt.wantStatus {
				t.Errorf("err = %v, want a *wire.Error with status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestPostJitterBounded(t *testing.T) {
	srv := newServer(t, statuses("", slices.Repeat([]int{503}, 30)...))
	var s sleeps
	c := &wire.Client{HTTP: srv.Client(), Sleep: s.Sleep,
		Retry: wire.Retry{MaxAttempts: 30, BaseDelay: time.Millisecond, MaxDelay: 8 * time.Millisecond}}
	if _, err := post(c, srv, false); err == nil {
		t.Fatal("err = nil, want one")
	}
	waits := s.all()
	if got, want := len(waits), 29; got != want {
		t.Fatalf("waited %d times, want %d", got, want)
	}
	distinct := map[time.Duration]bool{}
	for i, d := range waits {
		if ceiling := min(time.Millisecond<<min(i, 20), 8*time.Millisecond); d <= 0 || d > ceiling {
			t.Errorf("wait %d = %v, want in (0, %v]", i+1, d, ceiling)
		}
		distinct[d] = true
	}
	if len(distinct) < 5 {
		t.Errorf("waits %v show no jitter", waits)
	}
}

func TestPostConnectionRefused(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, oneShot := range []bool{false, true} {
		var s sleeps
		c := &wire.Client{Sleep: s.Sleep, Retry: wire.Retry{MaxAttempts: 4}}
		_, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: closed.URL + "/token?x=private", Auth: basicAuth(), OneShot: oneShot})
		var we *wire.Error
		if !errors.As(err, &we) || we.StatusCode != 0 {
			t.Fatalf("one-shot %t: err = %v, want a network *wire.Error", oneShot, err)
		}
		if got, want := len(s.all()), 3; got != want {
			t.Errorf("one-shot %t: waited %d times, want %d", oneShot, got, want)
		}
		if msg := err.Error(); strings.Contains(msg, "private") || !strings.Contains(msg, "refused") {
			t.Errorf("error %q should name the refusal and not the query", msg)
		}
	}
}

func TestPostCancel(t *testing.T) {
	t.Run("while waiting", func(t *testing.T) {
		srv := newServer(t, statuses("", 503, 503, 503))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &wire.Client{HTTP: srv.Client(), Retry: wire.Retry{MaxAttempts: 5},
			Sleep: func(ctx context.Context, _ time.Duration) error {
				cancel()
				return ctx.Err()
			}}
		if _, err := c.Post(ctx, &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth()}); err == nil {
			t.Fatal("err = nil, want one")
		}
		if got, want := srv.requests(), 1; got != want {
			t.Errorf("server received %d requests, want %d", got, want)
		}
	})
	t.Run("real wait", func(t *testing.T) {
		// The server asks for 30 s. The retry's log record, written just before
		// the wait, cancels the context, which must end the wait at once.
		srv := newServer(t, statuses("30", 503))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &wire.Client{HTTP: srv.Client(), Retry: wire.Retry{MaxWait: time.Minute},
			Logger: slog.New(cancelOnRetry{cancel})}
		start := time.Now()
		_, err := c.Post(ctx, &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth()})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "HTTP 503") {
			t.Errorf("err = %v, want the cancellation, naming the 503 it was waiting after", err)
		}
		if got, want := srv.requests(), 1; got != want {
			t.Errorf("server received %d requests, want %d", got, want)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("Post took %v after the cancel", elapsed)
		}
	})
}

// cancelOnRetry is a slog handler that cancels a context when a retry is logged.
type cancelOnRetry struct{ cancel context.CancelFunc }

func (h cancelOnRetry) Enabled(context.Context, slog.Level) bool { return true }

func (h cancelOnRetry) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "oauth2 retry" {
		h.cancel()
	}
	return nil
}

func (h cancelOnRetry) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOnRetry) WithGroup(string) slog.Handler      { return h }

func TestPostClientAuth(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	longSecret := strings.Repeat("k", 32)
	tests := []struct {
		name       string
		auth       wire.Auth
		wantHeader bool     // a Basic Authorization header
		wantForm   []string // the client members of the body
	}{
		{"basic", basicAuth(), true, nil},
		{"post", wire.Auth{Method: wire.MethodPost, ClientID: clientID, Secret: clientSecret}, false, []string{"client_id", "client_secret"}},
		{"none", wire.Auth{Method: wire.MethodNone, ClientID: clientID}, false, []string{"client_id"}},
		{"tls", wire.Auth{Method: wire.MethodTLS, ClientID: clientID, Secret: clientSecret}, false, []string{"client_id"}},
		{"self-signed tls", wire.Auth{Method: wire.MethodSelfSignedTLS, ClientID: clientID}, false, []string{"client_id"}},
		{"client_secret_jwt", wire.Auth{Method: wire.MethodSecretJWT, ClientID: clientID, Secret: longSecret, Audience: "https://as.example"},
			false, []string{"client_id", "client_assertion_type", "client_assertion"}},
		{"private_key_jwt", wire.Auth{Method: wire.MethodPrivateKeyJWT, ClientID: clientID, Key: ecKey, Audience: "https://as.example"},
			false, []string{"client_id", "client_assertion_type", "client_assertion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got http.Header
			var form url.Values
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				got = r.Header.Clone()
				if err := r.ParseForm(); err != nil {
					t.Error(err)
				}
				form = r.PostForm
				statuses("")(w, r, 1)
			})
			c := &wire.Client{HTTP: srv.Client(), Header: http.Header{"Authorization": {"Bearer quirk"}}}
			if _, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: tt.auth,
				Form: url.Values{"grant_type": {"client_credentials"}}}); err != nil {
				t.Fatal(err)
			}
			if tt.wantHeader {
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret))
				if got := got.Get("Authorization"); got != want {
					t.Errorf("Authorization = %q, want %q", got, want)
				}
			}
			var members []string
			for _, k := range []string{"client_id", "client_secret", "client_assertion_type", "client_assertion"} {
				if form.Has(k) {
					members = append(members, k)
				}
			}
			if strings.Join(members, " ") != strings.Join(tt.wantForm, " ") {
				t.Errorf("client members = %q, want %q", members, tt.wantForm)
			}
			if got, want := form.Get("grant_type"), "client_credentials"; got != want {
				t.Errorf("grant_type = %q, want %q", got, want)
			}
		})
	}
}

func TestPostClientAuthErrors(t *testing.T) {
	tests := []struct {
		name    string
		auth    wire.Auth
		wantErr string
	}{
		{"no client ID", wire.Auth{Method: wire.MethodBasic, Secret: clientSecret}, "client ID"},
		{"unknown method", wire.Auth{Method: "magic", ClientID: clientID, Secret: clientSecret}, `"magic"`},
		{"basic without secret", wire.Auth{Method: wire.MethodBasic, ClientID: clientID}, "secret"},
		{"post without secret", wire.Auth{Method: wire.MethodPost, ClientID: clientID}, "secret"},
		{"client_secret_jwt short secret", wire.Auth{Method: wire.MethodSecretJWT, ClientID: clientID, Secret: clientSecret, Audience: "a"}, "32 bytes"},
		{"client_secret_jwt without audience", wire.Auth{Method: wire.MethodSecretJWT, ClientID: clientID, Secret: strings.Repeat("k", 32)}, "audience"},
		{"private_key_jwt without key", wire.Auth{Method: wire.MethodPrivateKeyJWT, ClientID: clientID, Audience: "a"}, "no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, statuses(""))
			var s sleeps
			c := &wire.Client{HTTP: srv.Client(), Sleep: s.Sleep}
			_, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: tt.auth})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q reveals the secret", err)
			}
			if srv.requests() != 0 || len(s.all()) != 0 {
				t.Errorf("sent %d requests and waited %d times, want none", srv.requests(), len(s.all()))
			}
		})
	}
}

func TestPostHeaders(t *testing.T) {
	var got http.Header
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		got = r.Header.Clone()
		statuses("")(w, r, 1)
	})
	c := &wire.Client{HTTP: srv.Client(), Header: http.Header{"User-Agent": {"pixie-test/1"}, "X-Quirk": {"q"}}}
	if _, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth(),
		Header: http.Header{"X-Request": {"r"}}}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
		"User-Agent": "pixie-test/1", "X-Quirk": "q", "X-Request": "r",
	} {
		if got := got.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	c.Header = http.Header{"Accept": {"application/vnd.example+json"}}
	if _, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth()}); err != nil {
		t.Fatal(err)
	}
	if got, want := got.Get("Accept"), "application/vnd.example+json"; got != want {
		t.Errorf("Accept = %q, want the quirk's %q", got, want)
	}
}

func TestPostResponses(t *testing.T) {
	html := "<html>" + strings.Repeat("<p>Bad gateway</p>", 500) + "</html>"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantErr     *wire.Error // nil for success
	}{
		{"JSON error", 400, "application/json", `{"error":"invalid_grant","error_description":"expired","error_uri":"https://e.example/1"}`,
			&wire.Error{Code: "invalid_grant", Description: "expired", URI: "https://e.example/1", StatusCode: 400}},
		{"form error", 400, "application/x-www-form-urlencoded", `error=invalid_scope&error_description=too+much`,
			&wire.Error{Code: "invalid_scope", Description: "too much", StatusCode: 400}},
		{"text/plain form error", 401, "text/plain", `error=invalid_client`,
			&wire.Error{Code: "invalid_client", StatusCode: 401}},
		{"object error member", 400, "application/json", `{"error":{"message":"nope"}}`,
			&wire.Error{StatusCode: 400}},
		{"HTML 502", 502, "text/html", html, &wire.Error{StatusCode: 502}},
		{"GitHub error with 200", 200, "application/x-www-form-urlencoded", `error=bad_verification_code&error_description=expired`,
			&wire.Error{Code: "bad_verification_code", Description: "expired", StatusCode: 200}},
		{"Slack error with 200", 200, "application/json", `{"ok":false,"error":"invalid_code"}`,
			&wire.Error{Code: "invalid_code", StatusCode: 200}},
		{"200 with an object error member", 200, "application/json", `{"access_token":"a","error":{"x":1}}`, nil},
		{"200 empty", 200, "", ``, nil},
		{"201 token", 201, "application/json", `{"access_token":"a"}`, nil},
		{"oversized", 200, "application/json", `{"access_token":"a","pad":"` + strings.Repeat("x", wire.MaxBody) + `"}`,
			&wire.Error{StatusCode: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			c := &wire.Client{HTTP: srv.Client(), Retry: wire.Retry{MaxAttempts: 1}}
			resp, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth()})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if resp.StatusCode != tt.status || string(resp.Body) != tt.body {
					t.Errorf("response = %d %q, want %d %q", resp.StatusCode, resp.Body, tt.status, tt.body)
				}
				return
			}
			var we *wire.Error
			if !errors.As(err, &we) {
				t.Fatalf("err = %v (%T), want a *wire.Error", err, err)
			}
			if we.Code != tt.wantErr.Code || we.Description != tt.wantErr.Description || we.URI != tt.wantErr.URI ||
				we.StatusCode != tt.wantErr.StatusCode || we.Op != "token" {
				t.Errorf("error = %+v, want %+v", *we, *tt.wantErr)
			}
			// An error response's body is kept, up to 4 KiB; a success
			// response's never is.
			wantBody := ""
			if tt.status > 299 {
				wantBody = tt.body[:min(len(tt.body), 4<<10)]
			}
			if string(we.Body) != wantBody {
				t.Errorf("Body = %d bytes, want the first %d bytes of the response", len(we.Body), len(wantBody))
			}
			if strings.Contains(err.Error(), "Bad gateway") || strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q quotes the body or the secret", err)
			}
		})
	}
	t.Run("exactly MaxBody", func(t *testing.T) {
		body := `{"access_token":"a","pad":"` + strings.Repeat("x", wire.MaxBody-29) + `"}`
		if len(body) != wire.MaxBody {
			t.Fatalf("len(body) = %d", len(body))
		}
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) { io.WriteString(w, body) })
		c := &wire.Client{HTTP: srv.Client()}
		if _, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL, Auth: basicAuth()}); err != nil {
			t.Error(err)
		}
	})
}

func TestPostRefusesInsecureURL(t *testing.T) {
	var s sleeps
	c := &wire.Client{Sleep: s.Sleep}
	_, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: "http://auth.example.com/token", Auth: basicAuth()})
	var we *wire.Error
	if !errors.As(err, &we) || we.Op != "token" || !strings.Contains(err.Error(), "https") {
		t.Errorf("err = %v, want a token *wire.Error asking for https", err)
	}
	if len(s.all()) != 0 {
		t.Error("an insecure URL was retried")
	}
}

func TestReadBody(t *testing.T) {
	if b, err := wire.ReadBody(strings.NewReader(strings.Repeat("a", wire.MaxBody))); err != nil || len(b) != wire.MaxBody {
		t.Errorf("ReadBody(MaxBody bytes) = %d bytes, %v", len(b), err)
	}
	if _, err := wire.ReadBody(strings.NewReader(strings.Repeat("a", wire.MaxBody+1))); !errors.Is(err, wire.ErrBodyTooLarge) {
		t.Errorf("ReadBody(MaxBody+1 bytes) error = %v, want ErrBodyTooLarge", err)
	}
}

// TestPostDoesNotFollowRedirects checks that a token endpoint's redirect is
// reported, not followed: following a 307 or 308 would post the client's
// credentials and grant to wherever the redirect points, past CheckURL.
func TestPostDoesNotFollowRedirects(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		leaked.Add(1)
		statuses("")(w, r, 1)
	})
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				http.Redirect(w, r, elsewhere.URL+"/token", status)
			})
			own := &http.Client{Timeout: time.Minute}
			for _, hc := range []*http.Client{nil, own} {
				c := &wire.Client{HTTP: hc, Retry: wire.Retry{MaxAttempts: 1}}
				_, err := c.Post(context.Background(), &wire.Request{Op: "token", URL: srv.URL + "/token",
					Auth: wire.Auth{Method: wire.MethodPost, ClientID: clientID, Secret: clientSecret},
					Form: url.Values{"code": {"the-code"}}})
				var we *wire.Error
				if !errors.As(err, &we) || we.StatusCode != status {
					t.Errorf("err = %v, want a *wire.Error with status %d", err, status)
				}
				if msg := err.Error(); !strings.Contains(msg, "redirects to "+elsewhere.URL+"/token") {
					t.Errorf("error %q does not name the redirect's target", msg)
				}
			}
			if own.CheckRedirect != nil || own.Timeout != time.Minute {
				t.Error("Post changed the caller's http.Client")
			}
		})
	}
	if got := leaked.Load(); got != 0 {
		t.Errorf("the redirect target received %d requests, want 0", got)
	}
}
